"""The data of a load-test suite, shared by every module of ``measure``: options, results, errors.

Kept apart so the arrows run one way: ``suite`` runs, ``request``/``workers`` measure,
``files``/``report``/``plots`` write, and all of them only read these types.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .stats import ns, time_buckets


class MeasureError(Exception):
    """The suite cannot run; ``exit_code`` says why (3: EXPECT mismatch, no test run)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class SuiteOptions:
    count: int
    expect: int
    description: str
    outdir: Path
    size: int = 100
    timeout: float = 10.0
    discovery_timeout: float = 2.0
    force_direct: bool = False
    workers: int = 1
    collective: str | None = None
    federation: str | None = None
    nats_monitors: list[str] = field(default_factory=list)
    emulator_monitors: list[str] = field(default_factory=list)
    events: bool = True

    def validate(self) -> None:
        for name, value, minimum in (
            ("COUNT", self.count, 1),
            ("EXPECT", self.expect, 1),
            ("--size", self.size, 0),
            ("--workers", self.workers, 1),
        ):
            if value < minimum:
                raise MeasureError(f"{name} must be at least {minimum}, got {value}", exit_code=2)
        for name, seconds in (("--timeout", self.timeout), ("--discovery-timeout", self.discovery_timeout)):
            if not (math.isfinite(seconds) and seconds > 0):  # NaN and inf would wait forever
                raise MeasureError(f"{name} must be more than 0 seconds, got {seconds}", exit_code=2)
        if self.workers > 1 and not self.force_direct:
            raise MeasureError(
                "--workers needs --force-direct: a broadcast cannot be shared (every node would answer every worker)",
                exit_code=2,
            )
        if not self.description.strip():
            raise MeasureError("DESCRIPTION must not be empty", exit_code=2)
        if self.outdir.exists() and not self.outdir.is_dir():
            raise MeasureError(f"OUTDIR {self.outdir} exists and is not a directory", exit_code=2)


@dataclass
class TestResult:
    """One request of the suite; durations and ``times`` in seconds since the first publish."""

    __test__ = False  # not a pytest class, despite the name

    test: int
    requestid: str
    discovered: int
    publish_duration: float
    request_duration: float
    ok: int
    failed: int
    noresponses: int
    unexpected: int
    responded: int
    times: list[float]

    @property
    def complete(self) -> bool:
        return self.ok == self.discovered and self.failed == 0

    @property
    def last_reply(self) -> float:
        return max(self.times) if self.times else 0.0

    def event_data(self, suite_id: str) -> dict[str, Any]:
        return {
            "suite_id": suite_id,
            "instance": self.test,
            "time_buckets": time_buckets(self.times),
            "discovered": self.discovered,
            "publish_duration": ns(self.publish_duration),
            "request_duration": ns(self.request_duration),
            "failed": self.failed,
            "ok": self.ok,
            "noresponses": self.noresponses,
            "unexpected": self.unexpected,
            "responded": self.responded,
        }


@dataclass
class SuiteResult:
    id: str
    options: SuiteOptions
    nodes: list[str]
    discovery_duration: float
    started: float
    finished: float = 0.0
    tests: list[TestResult] = field(default_factory=list)
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    usage: list[dict[str, Any]] = field(default_factory=list)  # per test: client and broker CPU (usage.py)
    collectors: int = 1  # reply collector processes of the client

    @property
    def complete(self) -> bool:
        return bool(self.tests) and all(t.complete for t in self.tests)
