"""The ``emulate`` process: forks the workers, serves ``/debug/vars`` and ``/metrics``, stops cleanly.

Workers are forked before any event loop exists; each reports a JSON snapshot over its pipe
every second. SIGTERM, SIGINT and SIGHUP (the original management agent stops the emulator
with HUP) stop every worker within seconds; a worker that dies on its own is restarted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from .. import __version__
from .config import EmulatorConfig
from .http import HTTPServer
from .stats import COUNTERS
from .worker import rss_bytes, worker_main

log = logging.getLogger("choria_emulator.emulate")

STOP_GRACE = 8.0
MAX_RESTARTS = 5


class WorkerHandle:
    def __init__(self, worker_id: int, indexes: range):
        self.worker_id = worker_id
        self.indexes = indexes
        self.process: Any = None
        self.channel: Any = None
        self.snapshot: dict[str, Any] = {"instances": len(indexes), "connected": 0, "rss": 0, "counters": {}}
        self.restarts = 0


class Supervisor:
    def __init__(self, config: EmulatorConfig):
        self.config = config
        self.suffix = uuid.uuid4().hex[1:6]
        self.context = multiprocessing.get_context("fork")
        self.handles = [WorkerHandle(i, r) for i, r in enumerate(config.worker_slices())]
        self.started = time.time()
        self.stopping = False
        self.http_port: int | None = None
        self.all_connected_at: float | None = None
        self._stop: asyncio.Event | None = None

    # ---- workers ---------------------------------------------------------------------------
    def _spawn(self, handle: WorkerHandle) -> None:
        parent, child = self.context.Pipe()
        handle.process = self.context.Process(
            target=worker_main,
            args=(self.config, handle.indexes, self.suffix, handle.worker_id, child),
            name=f"choria-emulator-worker-{handle.worker_id}",
        )
        handle.process.start()
        child.close()
        handle.channel = parent

    def _watch(self, loop: asyncio.AbstractEventLoop, handle: WorkerHandle) -> None:
        def readable() -> None:
            try:
                while handle.channel.poll():
                    handle.snapshot = json.loads(handle.channel.recv())
                self._note_all_connected()
            except (EOFError, OSError, ValueError):
                loop.remove_reader(handle.channel.fileno())
                loop.call_soon(self._worker_exited, loop, handle)

        loop.add_reader(handle.channel.fileno(), readable)

    def _note_all_connected(self) -> None:
        if self.all_connected_at is None and sum(h.snapshot.get("connected", 0) for h in self.handles) == self.config.instances:
            self.all_connected_at = time.time()
            log.info("all %d instances connected after %.2f s", self.config.instances, self.all_connected_at - self.started)

    def _worker_exited(self, loop: asyncio.AbstractEventLoop, handle: WorkerHandle) -> None:
        handle.process.join(1)
        if self.stopping:
            return
        code = handle.process.exitcode
        if handle.restarts >= MAX_RESTARTS:
            log.error("worker %d exited with %s and was restarted %d times; stopping", handle.worker_id, code, handle.restarts)
            self.request_stop(exit_code=1)
            return
        handle.restarts += 1
        log.error("worker %d exited with %s; restarting it (%d/%d)", handle.worker_id, code, handle.restarts, MAX_RESTARTS)
        handle.snapshot = {**handle.snapshot, "connected": 0}
        self._spawn(handle)
        self._watch(loop, handle)

    # ---- status ----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        counters = {name: 0 for name in COUNTERS}
        connected = rss = reconnects = 0
        for handle in self.handles:
            snap = handle.snapshot
            connected += snap.get("connected", 0)
            rss += snap.get("rss", 0)
            reconnects += snap.get("reconnects", 0)
            for name, value in snap.get("counters", {}).items():
                counters[name] = counters.get(name, 0) + value
        config = self.config
        return {
            "connected": connected,
            "instances": config.instances,
            "counters": counters,
            "reconnects": reconnects,
            "rss": rss + rss_bytes(),
            "workers": [
                {"id": h.worker_id, "pid": h.process.pid if h.process else None, "restarts": h.restarts, **{k: h.snapshot.get(k) for k in ("instances", "connected", "rss")}}
                for h in self.handles
            ],
        }

    def debug_vars(self) -> dict[str, Any]:
        """Go expvar shape: ``cmdline``, ``memstats``, ``name``, ``config`` plus live counters."""
        config = self.config
        status = self.status()
        tls = config.tls is not None
        return {
            "cmdline": sys.argv,
            "memstats": {"Sys": status["rss"], "HeapSys": status["rss"]},
            "name": config.name,
            "config": {
                "instances": config.instances,
                "agents": config.agents,
                "collectives": config.collectives,
                "pid": os.getpid(),
                "TLS": int(tls),
                "tlsVerify": int(tls and config.tls.verify),  # type: ignore[union-attr]
            },
            "version": __version__,
            "uptime": round(time.time() - self.started, 3),
            "all_connected_after": self.all_connected_at and round(self.all_connected_at - self.started, 3),
            "servers": [str(s) for s in config.servers],
            "subscriptions_per_instance": config.subscriptions_per_instance,
            **status,
        }

    def metrics(self) -> str:
        status = self.status()
        name = self.config.name.replace("\\", "\\\\").replace('"', '\\"')
        lines = []

        def metric(key: str, kind: str, help_text: str, value: float) -> None:
            lines.append(f"# HELP choria_emulator_{key} {help_text}")
            lines.append(f"# TYPE choria_emulator_{key} {kind}")
            lines.append(f'choria_emulator_{key}{{name="{name}"}} {value}')

        metric("instances", "gauge", "Emulated instances configured", self.config.instances)
        metric("connected_instances", "gauge", "Instances with a live NATS connection", status["connected"])
        metric("reconnects_total", "counter", "NATS reconnects across all instances", status["reconnects"])
        metric("resident_memory_bytes", "gauge", "RSS of the supervisor and all workers", status["rss"])
        for counter, value in status["counters"].items():
            metric(f"{counter}_total", "counter", f"Sum of the per-instance {counter} counter (go-choria choria_server_{counter})", value)
        return "\n".join(lines) + "\n"

    # ---- run -------------------------------------------------------------------------------
    def request_stop(self, exit_code: int = 0) -> None:
        self.exit_code = max(getattr(self, "exit_code", 0), exit_code)
        if self._stop is not None:
            self._stop.set()

    async def serve(self) -> int:
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.exit_code = 0
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, self.request_stop)
        for handle in self.handles:
            self._watch(loop, handle)
        http = HTTPServer(
            {
                "/debug/vars": lambda: ("application/json", json.dumps(self.debug_vars()).encode()),
                "/metrics": lambda: ("text/plain; version=0.0.4", self.metrics().encode()),
            }
        )
        if self.config.http_port >= 0:
            try:
                self.http_port = await http.start(self.config.http_bind, self.config.http_port)
            except OSError as exc:
                log.error("cannot listen on %s:%s for /debug/vars: %s", self.config.http_bind, self.config.http_port, exc.strerror)
                self.exit_code = 2
                await self._shutdown()
                return self.exit_code
            log.info("serving /debug/vars and /metrics on http://%s:%d", self.config.http_bind, self.http_port)
            if self.config.port_file:
                Path(self.config.port_file).write_text(f"{self.http_port}\n")
        tasks = [loop.create_task(self._progress())]
        if self.config.stats_file:
            tasks.append(loop.create_task(self._write_stats()))
        await self._stop.wait()
        for task in tasks:
            task.cancel()
        await http.close()
        await self._shutdown()
        return self.exit_code

    async def _progress(self) -> None:
        total, last = self.config.instances, -1
        while True:
            await asyncio.sleep(1)
            connected = self.status()["connected"]
            if connected != last:
                rate = connected / max(time.time() - self.started, 1e-6)
                log.info("connected %d/%d instances (%.0f/s)", connected, total, rate)
                last = connected

    async def _write_stats(self) -> None:
        path = Path(self.config.stats_file)  # type: ignore[arg-type]
        while True:
            try:
                tmp = path.with_suffix(path.suffix + ".tmp")
                tmp.write_text(json.dumps({"time": int(time.time()), "name": self.config.name, **self.status()}) + "\n")
                tmp.replace(path)
            except OSError as exc:
                log.warning("cannot write stats file %s: %s", path, exc)
            await asyncio.sleep(self.config.stats_interval)

    async def _shutdown(self) -> None:
        self.stopping = True
        for handle in self.handles:
            try:
                handle.channel.send("stop")
            except (OSError, ValueError):
                pass
        deadline = time.time() + STOP_GRACE
        while time.time() < deadline and any(h.process.is_alive() for h in self.handles):
            await asyncio.sleep(0.05)
        for handle in self.handles:
            if handle.process.is_alive():
                log.warning("worker %d did not stop in %.0f s; killing it", handle.worker_id, STOP_GRACE)
                handle.process.kill()
            handle.process.join(2)


def run(config: EmulatorConfig, pid_file: str | None = None) -> int:
    supervisor = Supervisor(config)
    log.info(
        "starting %d instances named %s in %d worker(s): %d agents, %d collectives, %d subscriptions each, servers %s",
        config.instances,
        config.identity(config.start_index, supervisor.suffix),
        config.workers,
        len(config.agent_list),
        config.collectives,
        config.subscriptions_per_instance,
        ", ".join(str(s) for s in config.servers),
    )
    for handle in supervisor.handles:
        supervisor._spawn(handle)
    if pid_file:
        Path(pid_file).write_text(f"{os.getpid()}\n")
    try:
        return asyncio.run(supervisor.serve())
    finally:
        if pid_file:
            Path(pid_file).unlink(missing_ok=True)
