"""The report directory: the original's four files plus ``report.json``, written as tests finish.

Formats as ``choria-emulator measure`` (E3) wrote them with Go's ``encoding/csv`` (``\\n`` line
ends, minimal quoting) and ``encoding/json`` (compact):

* ``requests.csv``: the header below, then one row per test, durations in nanoseconds;
* ``times.csv``: one row per test, each reply's arrival in ns since the publish;
* ``time_buckets.csv``: one row per test, replies per 10 ms bucket;
* ``suite.json``: ``description, output_dir, payload_size, count, rpc_timeout (ns),
  expected_nodes, workers, id``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import IO, Any

from .model import SuiteOptions, TestResult
from .stats import ns, time_buckets

REQUESTS_HEADER = (
    "test",
    "description",
    "payload_bytes",
    "expected",
    "discovered",
    "publish_duration",
    "request_duration",
    "failed",
    "ok",
    "noresponses",
    "unexpected",
    "responded",
)
REQUESTS_CSV, TIMES_CSV, BUCKETS_CSV = "requests.csv", "times.csv", "time_buckets.csv"
SUITE_JSON, REPORT_JSON = "suite.json", "report.json"
ORIGINAL_FILES = (REQUESTS_CSV, TIMES_CSV, BUCKETS_CSV, SUITE_JSON)


def suite_document(options: SuiteOptions, suite_id: str) -> dict[str, Any]:
    """``suite.json`` / the ``test_suite`` event data, in the original's field order."""
    return {
        "description": options.description,
        "output_dir": str(options.outdir),
        "payload_size": options.size,
        "count": options.count,
        "rpc_timeout": ns(options.timeout),
        "expected_nodes": options.expect,
        "workers": options.workers,
        "id": suite_id,
    }


class ReportWriter:
    """Streams rows into the CSV files so an interrupted suite still leaves what it measured."""

    def __init__(self, outdir: Path):
        self.outdir = outdir
        outdir.mkdir(parents=True, exist_ok=True)
        self._files: list[IO[str]] = []
        self.requests = self._csv(REQUESTS_CSV)
        self.times = self._csv(TIMES_CSV)
        self.buckets = self._csv(BUCKETS_CSV)
        self.requests.writerow(REQUESTS_HEADER)

    def _csv(self, name: str) -> Any:
        handle = open(self.outdir / name, "w", newline="")
        self._files.append(handle)
        return csv.writer(handle, lineterminator="\n")

    def write_suite(self, document: dict[str, Any]) -> None:
        (self.outdir / SUITE_JSON).write_text(json.dumps(document, separators=(",", ":")))

    def write_test(self, result: TestResult, description: str, payload: int, expected: int) -> None:
        self.requests.writerow(
            (
                result.test,
                description,
                payload,
                expected,
                result.discovered,
                ns(result.publish_duration),
                ns(result.request_duration),
                result.failed,
                result.ok,
                result.noresponses,
                result.unexpected,
                result.responded,
            )
        )
        self.times.writerow([ns(t) for t in result.times])
        self.buckets.writerow(time_buckets(result.times))
        for handle in self._files:
            handle.flush()

    def write_report(self, report: dict[str, Any]) -> None:
        (self.outdir / REPORT_JSON).write_text(json.dumps(report, indent=2) + "\n")

    def close(self) -> None:
        for handle in self._files:
            handle.close()


def read_requests(outdir: Path) -> list[dict[str, Any]]:
    """``requests.csv`` rows with numbers as numbers (for compare and tests)."""
    with open(outdir / REQUESTS_CSV, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [{k: (v if k == "description" else int(v)) for k, v in row.items()} for row in rows]


def read_times(outdir: Path, name: str = TIMES_CSV) -> list[list[int]]:
    with open(outdir / name, newline="") as handle:
        return [[int(v) for v in row] for row in csv.reader(handle)]


def read_report(outdir: Path) -> dict[str, Any]:
    path = outdir / REPORT_JSON
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise ValueError(
            f"{outdir} is not a measure report directory: cannot read {path.name}: {exc.strerror}"
        ) from None
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
