"""Which side was the limit: the client's CPU and the brokers' beside each round trip.

The client's share is the CPU time of this process and its children (reply collectors, measure
workers) over each test (the children's from ``/proc/<pid>/stat``, where there is one), as a
percentage of the cores those processes could use. The brokers' is the ``cpu`` of each
``--monitor``'s ``/varz`` (nats-server's CPU percentage over its last second), sampled every
0.25 s while the suite runs; a test gets the samples taken during it and up to a second after.
A client near 100 % of its processes' cores was the limit; a broker near 100 % × its cores was.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from .monitor import TIMEOUT, normalise_url

SAMPLE_EVERY = 0.25
BUSY = 85.0  # percent of the available cores from which a side counts as the limit


def _ticks(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def client_cpu() -> tuple[float, int]:
    """CPU seconds of this process (``time.process_time``) and its live children so far (/proc), and how many
    processes that is."""
    total, count = time.process_time(), 1
    for child in multiprocessing.active_children():
        ticks = _ticks(child.pid) if child.pid else None
        if ticks is not None:
            total += ticks
            count += 1
    return total, count


@dataclass
class BrokerSampler:
    """A thread reading ``/varz`` ``cpu`` of every monitor every SAMPLE_EVERY seconds."""

    urls: list[str]
    samples: list[tuple[float, int, float]] = field(default_factory=list)  # (monotonic, server index, cpu %)
    cores: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> BrokerSampler:
        if self.urls:
            self._thread = threading.Thread(target=self._run, name="varz-sampler", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(TIMEOUT + 1)

    def _run(self) -> None:
        bases = [normalise_url(u) for u in self.urls]
        while not self._stop.is_set():
            for index, base in enumerate(bases):
                try:
                    with urllib.request.urlopen(f"{base}/varz", timeout=TIMEOUT) as response:
                        varz = json.loads(response.read())
                except (OSError, ValueError):
                    continue
                if isinstance(varz.get("cpu"), (int, float)):
                    self.samples.append((time.monotonic(), index, float(varz["cpu"])))
                if isinstance(varz.get("cores"), int):
                    self.cores[index] = varz["cores"]
            self._stop.wait(SAMPLE_EVERY)

    def during(self, start: float, end: float) -> list[dict[str, Any]]:
        """Per broker: mean and max CPU % of the samples in [start, end + 1 s]."""
        out = []
        for index, url in enumerate(self.urls):
            values = [cpu for t, i, cpu in list(self.samples) if i == index and start <= t <= end + 1.0]
            entry: dict[str, Any] = {"url": normalise_url(url), "samples": len(values), "cores": self.cores.get(index)}
            if values:
                entry["cpu_percent_mean"] = round(sum(values) / len(values), 1)
                entry["cpu_percent_max"] = round(max(values), 1)
            out.append(entry)
        return out


@dataclass
class TestUsage:
    """The CPU side of one test (kept beside the TestResult; the original's files do not have it)."""

    __test__ = False

    test: int
    start: float  # time.monotonic()
    wall: float
    client_cpu: float
    client_processes: int
    brokers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def client_percent(self) -> float:
        """CPU of the client processes as a percentage of one core each could use (100 % = all busy)."""
        usable = min(self.client_processes, os.cpu_count() or 1)
        return 100.0 * self.client_cpu / (self.wall * usable) if self.wall > 0 else 0.0

    def limit(self) -> str:
        """``client``, ``broker`` or ``neither`` (something else: the nodes, the network, a timeout)."""
        if self.client_percent >= BUSY:
            return "client"
        for broker in self.brokers:
            cores = broker.get("cores") or 1
            if broker.get("cpu_percent_max", 0.0) >= BUSY * cores:
                return "broker"
        return "neither"

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "wall": round(self.wall, 6),
            "client_cpu": round(self.client_cpu, 3),
            "client_processes": self.client_processes,
            "client_percent": round(self.client_percent, 1),
            "brokers": self.brokers,
            "limit": self.limit(),
        }


class Meter:
    """Measures each test: ``with meter.test(n): ...``; ``meter.results`` afterwards."""

    def __init__(self, monitor_urls: list[str]):
        self.sampler = BrokerSampler(list(monitor_urls)).start()
        self.results: list[TestUsage] = []

    def begin(self) -> tuple[float, float]:
        return time.monotonic(), client_cpu()[0]

    def end(self, test: int, started: tuple[float, float]) -> TestUsage:
        wall_start, cpu_start = started
        now = time.monotonic()
        cpu, processes = client_cpu()
        usage = TestUsage(test, wall_start, now - wall_start, cpu - cpu_start, processes)
        self.results.append(usage)
        return usage

    def close(self) -> list[dict[str, Any]]:
        """Stop sampling; fill in the brokers' figures per test (samples up to 1 s after each)."""
        time.sleep(min(1.0, SAMPLE_EVERY * 2))
        self.sampler.stop()
        for usage in self.results:
            usage.brokers = self.sampler.during(usage.start, usage.start + usage.wall)
        return [u.to_dict() for u in self.results]
