"""``measure --workers N``: N client processes share the publishing and the reply collection.

One Python process decodes ~30,000 replies a second (a full v1 decode with the hash check
is ~33 µs), so at 50,000 nodes the client can be the slowest part of a round trip. With
``--workers N`` each test's sorted node list is cut into N slices; every worker process
holds its own NATS connection and sends its slice a directed request through
``ChoriaClient.request()`` (one publish per node, its own reply subject), all starting at
the same instant of the machine-wide monotonic clock. The coordinator adds the slices up:
counts are summed, reply times are put on the common start, durations are the latest
worker's. A broadcast cannot be split this way (every node would answer every worker), so
workers imply ``--force-direct``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import time
from dataclasses import asdict
from typing import Any

from ..client import ChoriaClient, ClientConfig, ClientError
from .model import SuiteOptions, TestResult
from .request import run_test

START_DELAY = 0.05  # seconds between "go" and the common start: every worker has read its order


def slices(nodes: list[str], count: int) -> list[list[str]]:
    """``count`` contiguous, nearly equal slices (none empty unless there are fewer nodes)."""
    size, extra = divmod(len(nodes), count)
    out, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        out.append(nodes[start:end])
        start = end
    return [s for s in out if s]


def _worker_main(config: ClientConfig, options: SuiteOptions, channel: Any) -> None:
    """A worker process: one connection, then one slice request per order until told to stop."""
    loop = asyncio.new_event_loop()
    client = ChoriaClient(config)
    try:
        loop.run_until_complete(client.connect())
        channel.send(("ready", None))
    except ClientError as exc:
        channel.send(("error", str(exc)))
        return
    try:
        while True:
            order = channel.recv()
            if order[0] != "test":
                break
            _kind, test, nodes, start_at = order
            loop.run_until_complete(asyncio.sleep(max(0.0, start_at - time.monotonic())))
            began = time.monotonic()
            try:
                result = loop.run_until_complete(run_test(client, test, nodes, options))
            except ClientError as exc:
                channel.send(("error", str(exc)))
                continue
            offset = began - start_at
            result.times = [t + offset for t in result.times]
            result.publish_duration += offset
            result.request_duration += offset
            channel.send(("result", asdict(result)))
    except (EOFError, OSError, KeyboardInterrupt):
        pass
    finally:
        loop.run_until_complete(client.close())
        loop.close()


def merge(test: int, parts: list[TestResult]) -> TestResult:
    return TestResult(
        test=test,
        requestid=",".join(p.requestid for p in parts),
        discovered=sum(p.discovered for p in parts),
        publish_duration=max(p.publish_duration for p in parts),
        request_duration=max(p.request_duration for p in parts),
        ok=sum(p.ok for p in parts),
        failed=sum(p.failed for p in parts),
        noresponses=sum(p.noresponses for p in parts),
        unexpected=sum(p.unexpected for p in parts),
        responded=sum(p.responded for p in parts),
        times=sorted(t for p in parts for t in p.times),
    )


class WorkerPool:
    """The worker processes of one suite; use as ``async with WorkerPool(config, options, n)``."""

    def __init__(self, config: ClientConfig, options: SuiteOptions, count: int):
        self.config = dataclasses.replace(config, collectors=1)  # each worker reads its own slice
        self.options = options
        self.count = count
        self.workers: list[tuple[Any, Any]] = []

    async def __aenter__(self) -> WorkerPool:
        context = multiprocessing.get_context("spawn")  # never fork a process that runs an event loop
        for _number in range(self.count):
            parent, child = context.Pipe()
            process = context.Process(
                target=_worker_main,
                args=(self.config, self.options, child),
                name="choria-emulator-measure-worker",
                daemon=True,
            )
            process.start()
            child.close()
            self.workers.append((process, parent))
        for kind, detail in await asyncio.gather(*(self._receive(parent) for _process, parent in self.workers)):
            if kind != "ready":
                await self.__aexit__()
                raise ClientError(f"a measure worker could not connect: {detail}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        for _process, parent in self.workers:
            try:
                parent.send(("stop",))
            except (OSError, ValueError):
                pass
        for process, parent in self.workers:
            await asyncio.get_running_loop().run_in_executor(None, process.join, 10)
            if process.is_alive():
                process.kill()
            parent.close()
        self.workers = []

    @staticmethod
    async def _receive(channel: Any) -> tuple[str, Any]:
        try:
            return await asyncio.get_running_loop().run_in_executor(None, channel.recv)
        except (EOFError, OSError):
            return ("error", "the worker process exited")

    async def run_test(self, test: int, nodes: list[str]) -> TestResult:
        parts = slices(nodes, len(self.workers))
        start_at = time.monotonic() + START_DELAY
        busy = self.workers[: len(parts)]
        for (_process, parent), part in zip(busy, parts):
            parent.send(("test", test, part, start_at))
        results: list[TestResult] = []
        for kind, detail in await asyncio.gather(*(self._receive(parent) for _process, parent in busy)):
            if kind != "result":
                raise ClientError(f"a measure worker failed during request {test}: {detail}")
            results.append(TestResult(**detail))
        return merge(test, results)
