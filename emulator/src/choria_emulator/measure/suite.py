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
import contextlib
import time
import uuid
from typing import Any

from nats.errors import Error as NatsError

from ..client import ChoriaClient, ClientError, ReplyRecord, discover
from ..protocol import Filter
from . import events, monitor, plots
from .files import ReportWriter, suite_document
from .model import MeasureError, SuiteOptions, SuiteResult, TestResult
from .report import build_report
from .request import AGENT, run_test
from .usage import Meter
from .workers import WorkerPool


class Observer:
    """What a front end (the CLI) hears while a suite runs; every method is optional."""

    wants_replies = True  # False: ``reply`` is not called (at a million replies a call each costs a second)

    def discovered(self, nodes: list[str], seconds: float) -> None:
        """Discovery found ``nodes`` in ``seconds``."""

    def test_started(self, test: int, nodes: int) -> None:
        """Test number ``test`` starts against ``nodes`` nodes."""

    def reply(self, record: ReplyRecord) -> None:
        """One reply arrived."""

    def test_finished(self, result: TestResult) -> None:
        """A test ended with ``result``."""


async def _publish_event(client: ChoriaClient, kind: str, data: dict[str, Any]) -> None:
    try:
        await client.connection.publish(kind, events.cloudevent(kind, data))
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
    nodes = await discover(
        client, filt, collective=options.collective, timeout=options.discovery_timeout, federation=options.federation
    )
    discovery_duration = time.monotonic() - t0
    nodes = sorted(nodes)
    observer.discovered(nodes, discovery_duration)
    if len(nodes) != options.expect:
        raise MeasureError(
            f"discovered {len(nodes)} nodes with the {AGENT} agent in {discovery_duration:.2f} s "
            f"but EXPECT is {options.expect}: no test was run (raise --discovery-timeout, or check the network)",
            exit_code=3,
        )
    suite = SuiteResult(str(uuid.uuid4()), options, nodes, discovery_duration, started, before=before)
    suite.collectors = client.config.collectors
    writer = ReportWriter(options.outdir)
    try:
        document = suite_document(options, suite.id)
        writer.write_suite(document)
        if options.events:
            await _publish_event(client, events.SUITE_EVENT, document)
        async with contextlib.AsyncExitStack() as stack:
            pool = (
                await stack.enter_async_context(WorkerPool(client.config, options, options.workers))
                if options.workers > 1
                else None
            )
            overridden = type(observer).reply is not Observer.reply
            on_reply = observer.reply if overridden and observer.wants_replies else None
            meter = Meter(options.nats_monitors)
            stack.callback(meter.sampler.stop)
            for test in range(1, options.count + 1):
                observer.test_started(test, len(nodes))
                mark = meter.begin()
                if pool is not None:
                    result = await pool.run_test(test, nodes)
                else:
                    result = await run_test(client, test, nodes, options, on_reply)
                meter.end(test, mark)
                suite.tests.append(result)
                writer.write_test(result, options.description, options.size, options.expect)
                if options.events:
                    await _publish_event(client, events.RESULT_EVENT, result.event_data(suite.id))
                observer.test_finished(result)
            suite.usage = await loop.run_in_executor(None, meter.close)
        if options.events:
            await client.connection.flush()
        suite.finished = time.time()
        suite.after = await loop.run_in_executor(
            None, monitor.snapshot, options.nats_monitors, options.emulator_monitors
        )
        suite.report = build_report(suite)
        suite.report["plots"] = plots.suite_plots(
            options.outdir, suite.tests, options.description, len(nodes), options.size
        )
        suite.report["files"] += suite.report["plots"]
        writer.write_report(suite.report)
    finally:
        writer.close()
    return suite
