"""A load-test suite: discover the ``emulated0`` nodes, then COUNT × ``emulated0#generate``.

The original ``choria-emulator measure`` (protocol.md §4.8): broadcast discovery of agent
``emulated0``; abort before any test unless exactly EXPECT nodes answered; then each test sends
``generate size=N`` to the sorted node list (one broadcast carrying the targets, or one directed
publish per node with ``--force-direct``) and records every reply's arrival. A test stops
collecting as soon as every discovered node replied, else at ``--timeout`` (protocol.md §5);
``ChoriaClient.request()`` does the publishing and collecting.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from nats.errors import Error as NatsError

from ..client import ChoriaClient, ClientError, ReplyRecord, RequestOutcome, discover
from ..protocol import Filter, ProtocolError, RPCReply, RPCRequest
from . import events, monitor, plots
from .files import ReportWriter, ns, suite_document
from .report import build_report
from .stats import time_buckets

AGENT = "emulated0"
ACTION = "generate"


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
        for name, value, minimum in (("COUNT", self.count, 1), ("EXPECT", self.expect, 1), ("--size", self.size, 0), ("--workers", self.workers, 1)):
            if value < minimum:
                raise MeasureError(f"{name} must be at least {minimum}, got {value}", exit_code=2)
        for name, seconds in (("--timeout", self.timeout), ("--discovery-timeout", self.discovery_timeout)):
            if not seconds > 0:
                raise MeasureError(f"{name} must be more than 0 seconds, got {seconds}", exit_code=2)
        if not self.description.strip():
            raise MeasureError("DESCRIPTION must not be empty", exit_code=2)
        if self.outdir.exists() and not self.outdir.is_dir():
            raise MeasureError(f"OUTDIR {self.outdir} exists and is not a directory", exit_code=2)


@dataclass
class TestResult:
    """One request of the suite; durations and ``times`` in seconds since the first publish."""

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

    @property
    def complete(self) -> bool:
        return bool(self.tests) and all(t.complete for t in self.tests)


class Observer:
    """What a front end (the CLI) hears while a suite runs; every method is optional."""

    def discovered(self, nodes: list[str], seconds: float) -> None: ...
    def test_started(self, test: int, nodes: int) -> None: ...
    def reply(self, record: ReplyRecord) -> None: ...
    def test_finished(self, result: TestResult) -> None: ...


def result_from_outcome(test: int, outcome: RequestOutcome, nodes: list[str]) -> TestResult:
    """Count a request the way the Go RPC client's stats do, one verdict per responder."""
    codes: dict[str, int] = {}  # replies to one request are mostly identical: decode each text once
    ok = failed = 0
    seen: set[str] = set()
    for record in outcome.replies:
        if record.sender in seen:
            continue
        seen.add(record.sender)
        code = codes.get(record.message)
        if code is None:
            try:
                code = int(RPCReply.decode(record.message).statuscode)
            except ProtocolError:
                code = 5
            codes[record.message] = code
        if code == 0:
            ok += 1
        else:
            failed += 1
    return TestResult(
        test=test,
        requestid=outcome.requestid,
        discovered=len(nodes),
        publish_duration=outcome.publish_duration,
        request_duration=outcome.request_duration,
        ok=ok,
        failed=failed,
        noresponses=len(outcome.missing),
        unexpected=len(set(outcome.unexpected)),
        responded=len(seen),
        times=[r.elapsed for r in outcome.replies],
    )


async def run_test(client: ChoriaClient, test: int, nodes: list[str], options: SuiteOptions, on_reply: Callable[[ReplyRecord], None] | None = None) -> TestResult:
    body = RPCRequest(AGENT, ACTION, {"size": options.size}).encode()
    outcome = await client.request(
        AGENT,
        body,
        collective=options.collective,
        targets=nodes,
        directed=options.force_direct,
        timeout=options.timeout,
        on_reply=on_reply,
        federation=options.federation,
    )
    return result_from_outcome(test, outcome, nodes)


async def _publish_event(client: ChoriaClient, kind: str, data: dict[str, Any]) -> None:
    try:
        await client.nc.publish(kind, events.cloudevent(kind, data))
    except NatsError as exc:
        raise ClientError(f"could not publish the {kind} event: {exc}") from None


async def run_suite(client: ChoriaClient, options: SuiteOptions, observer: Observer | None = None) -> SuiteResult:
    """Run the whole suite against a connected client and write every file into ``options.outdir``."""
    options.validate()
    observer = observer or Observer()
    loop = asyncio.get_running_loop()
    before = await loop.run_in_executor(None, monitor.snapshot, options.nats_monitors, options.emulator_monitors)
    started = time.time()
    t0 = time.monotonic()
    filt = Filter(agent=[AGENT])
    nodes = await discover(client, filt, collective=options.collective, timeout=options.discovery_timeout, federation=options.federation)
    discovery_duration = time.monotonic() - t0
    nodes = sorted(nodes)
    observer.discovered(nodes, discovery_duration)
    if len(nodes) != options.expect:
        raise MeasureError(
            f"discovered {len(nodes)} nodes with the {AGENT} agent in {discovery_duration:.2f} s but EXPECT is {options.expect}: "
            "no test was run (raise --discovery-timeout, or check the network)",
            exit_code=3,
        )
    suite = SuiteResult(str(uuid.uuid4()), options, nodes, discovery_duration, started, before=before)
    writer = ReportWriter(options.outdir)
    try:
        document = suite_document(options, suite.id)
        writer.write_suite(document)
        if options.events:
            await _publish_event(client, events.SUITE_EVENT, document)
        for test in range(1, options.count + 1):
            observer.test_started(test, len(nodes))
            result = await run_test(client, test, nodes, options, observer.reply)
            suite.tests.append(result)
            writer.write_test(result, options.description, options.size, options.expect)
            if options.events:
                await _publish_event(client, events.RESULT_EVENT, result.event_data(suite.id))
            observer.test_finished(result)
        if options.events:
            await client.nc.flush()
        suite.finished = time.time()
        suite.after = await loop.run_in_executor(None, monitor.snapshot, options.nats_monitors, options.emulator_monitors)
        suite.report = build_report(suite)
        suite.report["plots"] = plots.suite_plots(options.outdir, suite.tests, options.description, len(nodes), options.size)
        suite.report["files"] += suite.report["plots"]
        writer.write_report(suite.report)
    finally:
        writer.close()
    return suite
