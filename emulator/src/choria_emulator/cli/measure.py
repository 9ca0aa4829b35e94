"""``choria-emulator measure``: the original load-test suite, and ``measure compare`` for several runs.

  choria-emulator measure COUNT EXPECT DESCRIPTION OUTDIR [options]
  choria-emulator measure compare DIR [DIR ...] [--out compare.png] [--json]

A suite discovers the nodes with the emulated0 agent, stops (exit 3, no test run) unless exactly
EXPECT answered, then sends COUNT × emulated0#generate size=--size and records every reply.
OUTDIR gets requests.csv, times.csv, time_buckets.csv and suite.json as the original wrote
them, plus report.json, arrivals.png and round_trips.png. Exit 0 when every request got every
reply, 1 when some did not (the files are still written), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from ..client import ChoriaClient, ReplyRecord
from ..measure import MeasureError, Observer, SuiteOptions, SuiteResult, TestResult, load_run, run_suite, table
from ..measure.plots import COMPARE_PNG, PlotsUnavailable, compare
from .common import CLIError, add_client_options, client_config, progress

USAGE = (
    "choria-emulator measure COUNT EXPECT DESCRIPTION OUTDIR [options]\n"
    "       choria-emulator measure compare DIR [DIR ...] [--out FILE] [--json]"
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "measure",
        help="run a load-test suite, or compare suites",
        description=__doc__,
        usage=USAGE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "positional", nargs="*", metavar="ARG", help="COUNT EXPECT DESCRIPTION OUTDIR, or: compare DIR [DIR ...]"
    )
    suite = p.add_argument_group("suite")
    suite.add_argument("--size", type=int, default=100, help="generate payload size in bytes (default 100)")
    suite.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for the replies of one request (default 10)"
    )
    suite.add_argument("--discovery-timeout", "--dt", type=float, default=2.0, help="seconds of discovery (default 2)")
    suite.add_argument(
        "--force-direct", action="store_true", help="one directed request per node instead of one broadcast"
    )
    suite.add_argument(
        "--workers",
        type=int,
        default=1,
        help="client processes sharing publishing and reply collection, each with a slice of the nodes "
        "(needs --force-direct; default 1)",
    )
    suite.add_argument(
        "--verify",
        dest="tls_verify",
        action="store_const",
        const=True,
        help="verify the broker's TLS certificate (the original's default with --tls is not to)",
    )
    suite.add_argument(
        "--monitor",
        action="append",
        default=[],
        metavar="URL",
        help="nats-server monitor URL (http://host:8222) for /varz and /connz snapshots; repeat per server",
    )
    suite.add_argument(
        "--emulator-monitor",
        action="append",
        default=[],
        metavar="URL",
        help="emulator /debug/vars URL (http://host:8080) for instance and RSS snapshots; repeatable",
    )
    suite.add_argument(
        "--no-events",
        dest="events",
        action="store_false",
        help="do not publish the io.choria.event.emulator.* CloudEvents",
    )
    suite.add_argument("--json", action="store_true", help="print report.json on stdout (progress goes to stderr)")
    cmp = p.add_argument_group("compare")
    cmp.add_argument(
        "--out", default=COMPARE_PNG, metavar="FILE", help=f"plot of a comparison (default ./{COMPARE_PNG})"
    )
    add_client_options(p)
    p.set_defaults(func=run, parser=p)


def run(args: argparse.Namespace) -> int:
    positional = list(args.positional)
    if positional and positional[0] == "compare":
        return run_compare(args, positional[1:])
    if len(positional) != 4:
        args.parser.error(f"expected COUNT EXPECT DESCRIPTION OUTDIR, got {len(positional)} argument(s)")
    count, expect, description, outdir = positional
    options = SuiteOptions(
        count=_integer(args.parser, "COUNT", count),
        expect=_integer(args.parser, "EXPECT", expect),
        description=description,
        outdir=Path(outdir),
        size=args.size,
        timeout=args.timeout,
        discovery_timeout=args.discovery_timeout,
        force_direct=args.force_direct,
        workers=args.workers,
        collective=args.collective,
        federation=args.federation,
        nats_monitors=args.monitor,
        emulator_monitors=args.emulator_monitor,
        events=args.events,
    )
    try:
        options.validate()
    except MeasureError as exc:
        args.parser.error(str(exc))
    if args.tls and args.tls_verify is None:
        args.tls_verify = False  # the original measure: --tls alone does not verify
    config = client_config(args)
    out = sys.stderr if args.json else sys.stdout
    observer = ConsoleObserver(out, options)

    async def main() -> SuiteResult:
        async with ChoriaClient(config) as client:
            return await run_suite(client, options, observer)

    try:
        suite = asyncio.run(main())
    except MeasureError as exc:
        raise CLIError(str(exc), exit_code=exc.exit_code) from None
    finally:
        observer.close()
    observer.summary(suite)
    if args.json:
        print(json.dumps(suite.report, indent=2))
    return 0 if suite.complete else 1


def run_compare(args: argparse.Namespace, dirs: list[str]) -> int:
    if not dirs:
        args.parser.error("compare needs at least one report directory")
    try:
        runs = [load_run(Path(d)) for d in dirs]
    except ValueError as exc:
        raise CLIError(str(exc), exit_code=2) from None
    out = Path(args.out)
    plot: str | None = str(out)
    try:
        compare(out, runs)
    except PlotsUnavailable as exc:
        print(f"no plot: {exc}", file=sys.stderr)
        plot = None
    if args.json:
        print(
            json.dumps(
                {"runs": [{k: v for k, v in r.items() if k != "round_trip"} for r in runs], "plot": plot}, indent=2
            )
        )
    else:
        print(table(runs))
        if plot:
            print(f"\nplot: {plot}")
    return 0


def _integer(parser: argparse.ArgumentParser, name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        parser.error(f"{name} must be a whole number, got {value!r}")
        raise  # unreachable: parser.error exits


def duration(seconds: float) -> str:
    """Like Go's time.Duration printing, shortened: 612.35ms, 1.204s."""
    if seconds < 1:
        return f"{seconds * 1000:.2f}ms"
    return f"{seconds:.3f}s"


class ConsoleObserver(Observer):
    """The original's console: a line per request (✓ when every node answered) and a summary."""

    def __init__(self, out: TextIO, options: SuiteOptions):
        self.out = out
        self.options = options
        self.progress: Any = None
        self.wants_replies = sys.stderr.isatty()  # replies only move a progress bar

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def discovered(self, nodes: list[str], seconds: float) -> None:
        self._print(
            f"{_now()}: discovered {len(nodes)} nodes with the emulated0 agent in {duration(seconds)} (expected "
            f"{self.options.expect})"
        )
        if len(nodes) == self.options.expect:
            mode = "directed" if self.options.force_direct else "broadcast"
            if self.options.workers > 1:
                mode += f", {self.options.workers} workers"
            via = f" via federation {self.options.federation}" if self.options.federation else ""
            self._print(
                f"{_now()}: performing {self.options.count} tests of emulated0#generate size={self.options.size} "
                f"against {len(nodes)} nodes "
                f"({mode}{via}, timeout {self.options.timeout:g}s), reports in {self.options.outdir}"
            )

    def test_started(self, test: int, nodes: int) -> None:
        if self.options.workers > 1:
            return  # the replies arrive in the worker processes
        self.progress = progress(nodes, f"request {test}")
        self.progress.__enter__()

    def reply(self, record: ReplyRecord) -> None:
        if self.progress is not None:
            self.progress.advance()

    def test_finished(self, result: TestResult) -> None:
        self.close()
        mark = "✓" if result.complete else "✗"
        extra = (
            ""
            if result.complete
            else f" FAILED: {result.failed} NO RESPONSES: {result.noresponses} UNEXPECTED: {result.unexpected}"
        )
        self._print(
            f"{_now()}: REQUEST #: {result.test:<4d} OK: {result.ok} / {result.discovered} PUBLISH TIME: "
            f"{duration(result.publish_duration)} "
            f"ELAPSED TIME: {duration(result.request_duration)}{extra} {mark}"
        )

    def close(self) -> None:
        if self.progress is not None:
            self.progress.__exit__(None, None, None)
            self.progress = None

    def summary(self, suite: SuiteResult) -> None:
        report = suite.report
        rt, tests = report["round_trip"], report["tests"]
        self._print("")
        self._print(
            f"OK: {tests['complete']} FAILED: {tests['count'] - tests['complete']} MIN: {duration(rt['min'])} MAX: "
            f"{duration(rt['max'])} "
            f"AVG: {duration(rt['mean'])} STDDEV: {duration(rt['stddev'])}"
        )
        self._print(
            f"round trip median {duration(rt['median'])} p95 {duration(rt['p95'])} p99 {duration(rt['p99'])}; "
            f"{report['replies_per_second']:.0f} replies/s; {tests['replies']} replies, {tests['noresponses']} missing"
        )
        cpu = report.get("cpu") or {}
        if cpu:
            brokers = cpu["brokers_cpu_percent_max"]
            broker_text = (
                "brokers " + ", ".join(f"{url} max {value:.0f}%" for url, value in brokers.items())
                if brokers
                else "brokers not monitored (--monitor)"
            )
            self._print(
                f"client CPU {cpu['client_percent_median']:.0f}% of {cpu['client_processes']} process(es)' cores "
                f"(median per request); {broker_text}; limit: {cpu['limit']}"
            )
        self._print(f"reports in {suite.options.outdir}: {', '.join(report['files'])}")


def _now() -> str:
    return _dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
