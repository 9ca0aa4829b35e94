"""``report.json``: the figures of a suite in one document (ours; the original had none).

Times are seconds. ``round_trip`` summarises each test's request duration (publish until
every node replied, or the timeout), ``reply_latency`` every single reply's arrival,
``replies_per_second`` all replies over all request time; ``nats`` and ``emulators`` hold the
monitor snapshots taken before and after the suite.
"""

from __future__ import annotations

import datetime as _dt
import statistics
from typing import Any

from . import monitor
from .files import ORIGINAL_FILES, REPORT_JSON, suite_document
from .model import SuiteResult
from .stats import summary

REPORT_VERSION = 1


def _iso(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: (v if isinstance(v, int) else round(v, 6)) for k, v in values.items()}


def cpu_summary(suite: SuiteResult) -> dict[str, Any]:
    """The client's and the brokers' CPU over the tests, and which side was the limit (measure/usage.py)."""
    usage = suite.usage
    if not usage:
        return {}
    limits = [u["limit"] for u in usage]
    brokers: dict[str, list[float]] = {}
    for u in usage:
        for b in u["brokers"]:
            if "cpu_percent_max" in b:
                brokers.setdefault(b["url"], []).append(b["cpu_percent_max"])
    return {
        "client_cpu_seconds": round(sum(u["client_cpu"] for u in usage), 3),
        "client_percent_median": statistics.median(u["client_percent"] for u in usage),
        "client_processes": max(u["client_processes"] for u in usage),
        "collectors": suite.collectors,
        "brokers_cpu_percent_max": {url: max(values) for url, values in brokers.items()},
        "limit": max(set(limits), key=limits.count),
        "tests": usage,
    }


def build_report(suite: SuiteResult) -> dict[str, Any]:
    options, tests = suite.options, suite.tests
    replies = sum(len(t.times) for t in tests)
    busy = sum(t.request_duration for t in tests)
    return {
        "report_version": REPORT_VERSION,
        "suite": suite_document(options, suite.id),
        "started": _iso(suite.started),
        "finished": _iso(suite.finished or suite.started),
        "mode": "direct" if options.force_direct else "broadcast",
        "federation": options.federation,
        "collective": options.collective,
        "discovery": {
            "nodes": len(suite.nodes),
            "duration": round(suite.discovery_duration, 6),
            "timeout": options.discovery_timeout,
        },
        "tests": {
            "count": len(tests),
            "complete": sum(1 for t in tests if t.complete),
            "ok": sum(t.ok for t in tests),
            "failed": sum(t.failed for t in tests),
            "noresponses": sum(t.noresponses for t in tests),
            "unexpected": sum(t.unexpected for t in tests),
            "replies": replies,
        },
        "round_trip": _rounded(summary(t.request_duration for t in tests)),
        "last_reply": _rounded(summary(t.last_reply for t in tests if t.times)),
        "publish": _rounded(summary(t.publish_duration for t in tests)),
        "reply_latency": _rounded(summary(x for t in tests for x in t.times)),
        "replies_per_second": round(replies / busy, 1) if busy > 0 else 0.0,
        "cpu": cpu_summary(suite),
        "nats": {
            "before": suite.before.get("nats", []),
            "after": suite.after.get("nats", []),
            "delta": monitor.delta(suite.before, suite.after)["nats"],
        },
        "emulators": {"before": suite.before.get("emulators", []), "after": suite.after.get("emulators", [])},
        "files": [*ORIGINAL_FILES, REPORT_JSON],
    }
