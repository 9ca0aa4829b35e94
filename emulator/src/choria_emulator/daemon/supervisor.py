"""The ``emulate`` process: forks the workers, serves ``/debug/vars`` and ``/metrics``, stops cleanly.

The HTTP socket is bound before any worker is forked, so a busy ``--http-port`` is one clear
error and no instance ever connects. Workers are forked before any event loop exists; each
reports a JSON snapshot over its pipe every second. SIGTERM, SIGINT and SIGHUP (the original
management agent stops the emulator with HUP) stop every worker within seconds; a worker that
dies on its own is restarted, and its counters carry over so they never go backwards.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

from .. import __version__
from .config import EmulatorConfig
from .http import HTTPServer
from .stats import COUNTERS, rss_bytes
from .worker import worker_main

log = logging.getLogger("choria_emulator.emulate")

STOP_GRACE = 8.0
MAX_RESTARTS = 5  # per worker within RESTART_WINDOW seconds; more means something is broken
RESTART_WINDOW = 60.0


class EmulatorSetupError(RuntimeError):
    """The emulator cannot start as configured (e.g. the HTTP port is taken)."""


class WorkerHandle:
    def __init__(self, worker_id: int, indexes: range):
        self.worker_id = worker_id
        self.indexes = indexes
        self.process: Any = None
        self.channel: Any = None
        self.snapshot: dict[str, Any] = {"instances": len(indexes), "connected": 0, "rss": 0, "counters": {}}
        self.carried: dict[str, int] = {}  # counters and reconnects of this worker's earlier processes
        self.restarts = 0
        self.restart_times: deque[float] = deque(maxlen=MAX_RESTARTS)

    def total(self, key: str) -> int:
        return self.carried.get(key, 0) + self.snapshot.get(key, 0)

    def counters(self) -> dict[str, int]:
        live = self.snapshot.get("counters", {})
        return {name: self.carried.get(name, 0) + live.get(name, 0) for name in COUNTERS}

    def carry_over(self) -> None:
        """Keep what the process that just died had counted."""
        for name, value in self.snapshot.get("counters", {}).items():
            self.carried[name] = self.carried.get(name, 0) + value
        for key in ("reconnects", "server_errors", "request_errors"):
            self.carried[key] = self.carried.get(key, 0) + self.snapshot.get(key, 0)
        self.snapshot = {"instances": len(self.indexes), "connected": 0, "rss": 0, "counters": {}}


def bind_http(host: str, port: int) -> socket.socket:
    """Listen on ``host:port`` now, before forking, so a taken port fails before anything starts."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise EmulatorSetupError(f"cannot resolve --http-bind {host}: {exc.strerror}") from None
    family, kind, proto, _canonname, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise EmulatorSetupError(
            f"cannot listen on {host}:{port} for /debug/vars: {exc.strerror} (pick another --http-port, 0 for any "
            "free one, -1 for none)"
        ) from None
    sock.setblocking(False)
    return sock


class Supervisor:
    def __init__(self, config: EmulatorConfig):
        self.config = config
        self.suffix = uuid.uuid4().hex[1:6]
        self.context = multiprocessing.get_context("fork")
        self.handles = [WorkerHandle(i, r) for i, r in enumerate(config.worker_slices())]
        self.started = time.time()
        self.stopping = False
        self.exit_code = 0
        self.http_socket: socket.socket | None = None
        self.http_port: int | None = None
        self.all_connected_at: float | None = None
        self._stop: asyncio.Event | None = None

    # ---- workers ---------------------------------------------------------------------------
    def spawn_all(self) -> None:
        for handle in self.handles:
            self._spawn(handle)

    def _spawn(self, handle: WorkerHandle) -> None:
        parent, child = self.context.Pipe()
        # What the fork copies but the worker must not hold: the HTTP socket, and the supervisor's
        # ends of every pipe (its own included, or it would never see EOF when the supervisor dies).
        inherited: list[Any] = [parent] + [
            h.channel for h in self.handles if h.channel is not None and not h.channel.closed
        ]
        if self.http_socket is not None:
            inherited.append(self.http_socket)
        handle.process = self.context.Process(
            target=worker_main,
            args=(self.config, handle.indexes, self.suffix, handle.worker_id, child, inherited),
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
                    if handle.snapshot.get("fatal") and not self.stopping and not self._stopped():
                        log.error("%s", handle.snapshot["fatal"])  # once, though every worker may hit it
                        self.request_stop(exit_code=1)
                self._note_all_connected()
            except (EOFError, OSError, ValueError):
                loop.remove_reader(handle.channel.fileno())
                loop.call_soon(self._worker_exited, loop, handle)

        loop.add_reader(handle.channel.fileno(), readable)

    def _note_all_connected(self) -> None:
        if (
            self.all_connected_at is None
            and sum(h.snapshot.get("connected", 0) for h in self.handles) == self.config.instances
        ):
            self.all_connected_at = time.time()
            log.info(
                "all %d instances connected after %.2f s", self.config.instances, self.all_connected_at - self.started
            )

    def _worker_exited(self, loop: asyncio.AbstractEventLoop, handle: WorkerHandle) -> None:
        handle.process.join(1)
        handle.channel.close()
        if self.stopping or self._stopped():
            return
        code = handle.process.exitcode
        now = time.monotonic()
        if len(handle.restart_times) == MAX_RESTARTS and now - handle.restart_times[0] < RESTART_WINDOW:
            log.error(
                "worker %d exited with %s after %d restarts within %.0f s; stopping",
                handle.worker_id,
                code,
                MAX_RESTARTS,
                RESTART_WINDOW,
            )
            self.request_stop(exit_code=1)
            return
        handle.restarts += 1
        handle.restart_times.append(now)
        log.error("worker %d (pid %s) exited with %s; restarting it", handle.worker_id, handle.process.pid, code)
        handle.carry_over()
        self._spawn(handle)
        self._watch(loop, handle)

    # ---- status ----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        counters = {name: 0 for name in COUNTERS}
        connected = rss = 0
        for handle in self.handles:
            connected += handle.snapshot.get("connected", 0)
            rss += handle.snapshot.get("rss", 0)
            for name, value in handle.counters().items():
                counters[name] += value
        return {
            "connected": connected,
            "instances": self.config.instances,
            "counters": counters,
            "reconnects": sum(h.total("reconnects") for h in self.handles),
            "server_errors": sum(h.total("server_errors") for h in self.handles),
            "request_errors": sum(h.total("request_errors") for h in self.handles),
            "rss": rss + rss_bytes(),
            "workers": [
                {
                    "id": h.worker_id,
                    "pid": h.process.pid if h.process else None,
                    "alive": bool(h.process and h.process.is_alive()),
                    "restarts": h.restarts,
                    **{k: h.snapshot.get(k) for k in ("instances", "connected", "rss", "tasks", "decodes")},
                }
                for h in self.handles
            ],
        }

    def debug_vars(self) -> dict[str, Any]:
        """Go expvar shape: ``cmdline``, ``memstats``, ``name``, ``config`` plus live counters.

        The emulator modules read it on targets: tests/emulator/test_debug_vars_contract.py holds its
        shape equal to tests/unit/plugins/module_utils/fixtures/debug_vars.json, their unit tests' sample.
        """
        config = self.config
        status = self.status()
        tls = config.tls
        return {
            "cmdline": sys.argv,
            "memstats": {"Sys": status["rss"], "HeapSys": status["rss"]},
            "name": config.name,
            "config": {
                "instances": config.instances,
                "agents": config.agents,
                "collectives": config.collectives,
                "pid": os.getpid(),
                "TLS": int(tls is not None),
                "tlsVerify": int(tls is not None and tls.verify),
            },
            "version": __version__,
            "uptime": round(time.time() - self.started, 3),
            "all_connected_after": self.all_connected_at and round(self.all_connected_at - self.started, 3),
            "servers": [str(s) for s in config.servers],
            "subscriptions_per_instance": config.subscriptions_per_instance,
            "scenario": {
                "agents": [agent.name for agent in config.plugins],
                "ddl": list(config.ddl),
                "file": config.scenario,
                "seed": config.seed,
                "lifecycle": config.lifecycle_format if config.lifecycle else None,
            },
            **status,
        }

    def metrics(self) -> str:
        """Prometheus text exposition format 0.0.4."""
        status = self.status()
        name = self.config.name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        lines = []

        def metric(key: str, kind: str, help_text: str, value: float) -> None:
            lines.append(f"# HELP choria_emulator_{key} {help_text}")
            lines.append(f"# TYPE choria_emulator_{key} {kind}")
            lines.append(f'choria_emulator_{key}{{name="{name}"}} {value}')

        metric("instances", "gauge", "Emulated instances configured", self.config.instances)
        metric("connected_instances", "gauge", "Instances with a live NATS connection", status["connected"])
        metric(
            "subscriptions_per_instance",
            "gauge",
            "NATS subscriptions each instance makes",
            self.config.subscriptions_per_instance,
        )
        metric("workers", "gauge", "Worker processes", len(self.handles))
        metric(
            "worker_restarts_total",
            "counter",
            "Workers restarted after they died",
            sum(h.restarts for h in self.handles),
        )
        metric("reconnects_total", "counter", "NATS reconnects across all instances", status["reconnects"])
        metric("server_errors_total", "counter", "-ERR lines received from NATS", status["server_errors"])
        metric("resident_memory_bytes", "gauge", "RSS of the supervisor and all workers", status["rss"])
        metric("uptime_seconds", "gauge", "Seconds since the emulator started", round(time.time() - self.started, 3))
        for counter, value in status["counters"].items():
            metric(
                f"{counter}_total",
                "counter",
                f"Sum of the per-instance {counter} counter (go-choria choria_server_{counter})",
                value,
            )
        return "\n".join(lines) + "\n"

    # ---- run -------------------------------------------------------------------------------
    def request_stop(self, exit_code: int = 0) -> None:
        self.exit_code = max(self.exit_code, exit_code)
        if self._stop is not None:
            self._stop.set()

    def _stopped(self) -> bool:
        """A stop was requested while serving."""
        return self._stop is not None and self._stop.is_set()

    async def serve(self) -> int:
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, self.request_stop)
        for handle in self.handles:
            self._watch(loop, handle)
        http = HTTPServer(
            {
                "/debug/vars": lambda: ("application/json", json.dumps(self.debug_vars()).encode()),
                "/metrics": lambda: ("text/plain; version=0.0.4; charset=utf-8", self.metrics().encode()),
            }
        )
        if self.http_socket is not None:
            self.http_port = await http.start_on(self.http_socket)
            log.info("serving /debug/vars and /metrics on http://%s:%d", self.config.http_bind, self.http_port)
            if self.config.port_file:
                Path(self.config.port_file).write_text(f"{self.http_port}\n")
        tasks = [loop.create_task(self._progress())]
        if self.config.stats_file:
            tasks.append(loop.create_task(self._write_stats_every()))
        await self._stop.wait()
        log.info("stopping %d worker(s)", len(self.handles))
        for task in tasks:
            task.cancel()
        await http.close()
        await self._shutdown()
        if self.config.stats_file:
            self._write_stats()  # the final counters
        return self.exit_code

    async def _progress(self) -> None:
        total, last = self.config.instances, -1
        while True:
            await asyncio.sleep(1)
            connected = self.status()["connected"]
            if connected != last:
                log.info("connected %d/%d instances", connected, total)
                last = connected

    async def _write_stats_every(self) -> None:
        while True:
            self._write_stats()
            await asyncio.sleep(self.config.stats_interval)

    def _write_stats(self) -> None:
        """Replace the stats file atomically, so a collector never reads half a file."""
        if self.config.stats_file is None:
            return
        path = Path(self.config.stats_file)
        try:
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(json.dumps({"time": int(time.time()), "name": self.config.name, **self.status()}) + "\n")
            tmp.replace(path)
        except OSError as exc:
            log.warning("cannot write stats file %s: %s", path, exc.strerror or exc)

    async def _shutdown(self) -> None:
        self.stopping = True
        for handle in self.handles:
            try:
                handle.channel.send("stop")
            except (OSError, ValueError):
                pass  # that worker is already gone
        deadline = time.monotonic() + STOP_GRACE
        while time.monotonic() < deadline and any(h.process.is_alive() for h in self.handles):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0)  # let the readers take the workers' final snapshots
        for handle in self.handles:
            if handle.process.is_alive():
                log.warning("worker %d did not stop in %.0f s; killing it", handle.worker_id, STOP_GRACE)
                handle.process.kill()
            handle.process.join(2)


def run(config: EmulatorConfig, pid_file: str | None = None) -> int:
    """Bind the HTTP port, fork the workers, serve until a signal; the process exit code."""
    supervisor = Supervisor(config)
    if config.http_port >= 0:
        supervisor.http_socket = bind_http(config.http_bind, config.http_port)
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
    if pid_file:
        Path(pid_file).write_text(f"{os.getpid()}\n")
    try:
        supervisor.spawn_all()
        return asyncio.run(supervisor.serve())
    finally:
        for path in (pid_file, config.port_file):
            if path:
                Path(path).unlink(missing_ok=True)
