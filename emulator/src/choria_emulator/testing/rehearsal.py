"""The blue/green rehearsal: the deploy playbook against an emulated fleet on a routed NATS cluster.

One home for what the test (``tests/scenarios/test_rehearsal.py``), ``make demo-deploy`` and the
benchmark (``bench/deploy_bench.py``) do:

* :class:`Sink` — a local HTTP server standing in for the webhook and the Slack API, recording
  every request;
* :class:`Fleet` — a NATS cluster of three routed servers and one emulator whose instances are
  spread over them, serving the puppet, haproxy, appmgr and nrpe DDL agents with the
  ``blue-green`` (or ``blue-green-never-green``) scenario and a ``cluster`` fact;
* :func:`prepare_playbooks` — the shipped playbook and its failure handler, copied next to each
  other with the retry pauses (``try_sleep``) scaled for a short run;
* :meth:`Fleet.run_native` (``choria-emulator playbook run``) and :meth:`Fleet.run_converted`
  (``choria-emulator playbook convert`` then ``ansible-playbook``), each returning a
  :class:`RunResult` with the step timings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

from ..scenario.library import DDL_DIR, PLAYBOOK_DIR
from .cluster import LocalCluster
from .localnet import Emulator

AGENTS = ("puppet", "haproxy", "appmgr", "nrpe")
PLAYBOOK = "blue-green.yaml"
FAILURE_HANDLER = "blue-green-failure.yaml"
RPC_TIMEOUT = 40  # appmgr#upgrade takes up to 30 s (its scenario's cap)


# ---- the webhook and Slack stand-in --------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


class Sink:
    """A local HTTP server that records requests; Slack's ``chat.postMessage`` answers ``{"ok": true}``."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                return

            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                parsed = urlparse(self.path)
                sink.requests.append(Received(self.command, parsed.path, parse_qs(parsed.query), body))
                payload = json.dumps({"ok": True}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = _record  # http.server's naming

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def webhooks(self) -> list[Any]:
        return [r.body for r in self.requests if r.path == "/deploy"]

    def slack_messages(self) -> list[Received]:
        return [r for r in self.requests if r.path.endswith("/chat.postMessage")]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---- the playbooks -------------------------------------------------------------------------


def prepare_playbooks(directory: Path, try_sleep: float | None = None, tries: int | None = None) -> Path:
    """Copy the playbook and its failure handler into ``directory``; optionally scale their retries.

    The shipped playbook retries every 30 s (Puppet idle, NRPE green), as the seed's deploy did;
    a test or demo sets ``try_sleep`` to a few seconds. Returns the main playbook's path.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for name in (PLAYBOOK, FAILURE_HANDLER):
        data = yaml.safe_load((PLAYBOOK_DIR / name).read_text())
        if try_sleep is not None or tries is not None:
            for entry in data.get("tasks") or []:
                props = next(iter(entry.values()))
                if "try_sleep" in props and try_sleep is not None:
                    props["try_sleep"] = int(try_sleep) if float(try_sleep).is_integer() else try_sleep
                if "tries" in props and tries is not None:
                    props["tries"] = tries
        (directory / name).write_text(yaml.safe_dump(data, sort_keys=False, width=120))
    return directory / PLAYBOOK


# ---- results -------------------------------------------------------------------------------


@dataclass
class Step:
    description: str
    seconds: float
    success: bool
    tries: int = 1
    hook: str = "tasks"


@dataclass
class RunResult:
    mode: str  # native | converted
    success: bool
    seconds: float
    steps: list[Step] = field(default_factory=list)
    report: dict[str, Any] | None = None
    output: str = ""

    def step(self, prefix: str) -> Step | None:
        found = [s for s in self.steps if s.description.startswith(prefix)]
        return found[-1] if found else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "success": self.success,
            "seconds": round(self.seconds, 2),
            "steps": [
                {
                    "step": s.description,
                    "seconds": round(s.seconds, 2),
                    "success": s.success,
                    "tries": s.tries,
                    "hook": s.hook,
                }
                for s in self.steps
            ],
        }


def steps_from_report(report: dict[str, Any]) -> list[Step]:
    """The run's steps and their wall-clock times, from the report's timestamped log.

    A step is a task from its ``About to run task`` line to the next task or the end of its
    task set, so retries and their pauses count; node-set discovery (with the ``uses`` checks)
    is the first step. The report's own task entries repeat a retried task's last try (0.6.0).
    """
    logs = [(_iso_seconds(entry["time"]), str(entry["from"]), str(entry["msg"])) for entry in report.get("logs", [])]
    outcome = {str(t.get("description")): bool(t.get("success")) for t in report.get("tasks", [])}
    steps: list[Step] = []
    marks = [i for i, (_when, _source, msg) in enumerate(logs) if msg.startswith("About to run task: ")]
    sets = [i for i, (_when, _source, msg) in enumerate(logs) if msg.startswith("About to run task set ")]
    if logs and sets:
        nodes = sum(1 for _when, _source, msg in logs if msg.startswith("Discovered "))
        steps.append(
            Step(
                f"Discover the node set ({nodes} set(s), uses checks)",
                logs[sets[0]][0] - logs[0][0],
                True,
                1,
                "prepare",
            )
        )
    for index in marks:
        started, source, msg = logs[index]
        description = msg[len("About to run task: ") :]
        end = len(logs) - 1
        for later in range(index + 1, len(logs)):
            text = logs[later][2]
            if text.startswith("About to run task: ") or text.startswith("Done running task set"):
                end = later
                break
        tries = 1 + sum(1 for _when, _source, text in logs[index:end] if text.startswith("Task failed on try"))
        hook = source.split("#", 1)[-1].split(".", 1)[0]
        steps.append(Step(description, logs[end][0] - started, outcome.get(description, False), tries, hook))
    return steps


# A notification callback written next to the converted play: one JSON line per task result (its
# name, how long it ran, ok or failed, how many attempts), so the converted run's steps are timed
# without a callback collection (ansible.posix.json) or parsing the human output.
STEP_CALLBACK = """
import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "rehearsal_steps"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.started = {}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.started[task._uuid] = time.monotonic()

    def _write(self, result, ok):
        task = result._task
        seconds = time.monotonic() - self.started.get(task._uuid, time.monotonic())
        line = {"name": task.get_name(), "seconds": seconds, "ok": ok, "attempts": result._result.get("attempts", 1)}
        with open(os.environ["REHEARSAL_STEPS"], "a") as out:
            out.write(json.dumps(line) + "\\n")

    def v2_runner_on_ok(self, result):
        self._write(result, True)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, ignore_errors)
"""


def steps_from_ansible(lines: str) -> list[Step]:
    """Task timings from the ``rehearsal_steps`` callback's JSON lines (skipped tasks write none)."""
    steps = []
    for line in lines.splitlines():
        if line.strip():
            entry = json.loads(line)
            steps.append(
                Step(str(entry["name"]), float(entry["seconds"]), bool(entry["ok"]), int(entry.get("attempts") or 1))
            )
    return steps


def _iso_seconds(text: Any) -> float:
    if not text:
        return 0.0
    from datetime import datetime

    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()


# ---- the fleet -----------------------------------------------------------------------------


class Fleet:
    """The rehearsal's network: routed NATS cluster + one emulator with the four DDL agents."""

    def __init__(
        self,
        workdir: Path,
        size: int,
        *,
        never_green: bool = False,
        seed: int = 1,
        cluster: str = "bg",
        servers: int = 3,
        workers: int | None = None,
        extra: tuple[str, ...] = (),
        timeout: float = 180.0,
    ):
        self.workdir = Path(workdir)
        self.size = size
        self.cluster_name = cluster
        self.never_green = never_green
        self.workdir.mkdir(parents=True, exist_ok=True)
        facts = self.workdir / "facts.yaml"
        facts.write_text(yaml.safe_dump({"facts": {"cluster": "{name}", "role": "app"}}))
        self.nats = LocalCluster.start(servers, name="rehearsal", workdir=self.workdir / "nats")
        try:
            flags = [
                *(item for agent in AGENTS for item in ("--ddl", agent)),
                *("--scenario", "blue-green-never-green" if never_green else "blue-green"),
                *("--seed", str(seed), "--facts", str(facts)),
            ]
            if workers:
                flags += ["--workers", str(workers)]
            self.emulator = Emulator.start(
                self.nats.urls, size, *flags, *extra, name=cluster, workdir=self.workdir / "emulator", timeout=timeout
            )
        except BaseException:
            self.nats.stop()
            raise

    @property
    def url(self) -> str:
        return self.nats.urls[0]

    def stop(self) -> None:
        try:
            self.emulator.stop()
        finally:
            self.nats.stop()

    # ---- runs ---------------------------------------------------------------------------------
    def inputs(self, sink: Sink, revision: str) -> dict[str, Any]:
        return {"cluster": self.cluster_name, "revision": revision, "webhook": f"{sink.url}/deploy"}

    def run_native(self, playbook: Path, sink: Sink, revision: str, timeout: float = 1800) -> RunResult:
        """``choria-emulator playbook run`` with the report written as JSON."""
        report_path = playbook.parent / f"report-native-{revision}-{int(time.time() * 1000)}.json"
        inputs = playbook.parent / f"inputs-{revision}.json"
        inputs.write_text(json.dumps(self.inputs(sink, revision)))
        command = [
            sys.executable,
            "-m",
            "choria_emulator",
            "playbook",
            "run",
            str(playbook),
            "--input-file",
            str(inputs),
            "--server",
            self.url,
            "--timeout",
            str(RPC_TIMEOUT),
            "--discovery-timeout",
            "3",
            "--ddl-path",
            str(DDL_DIR),
            "--slack-api",
            f"{sink.url}/slack",
            "--report",
            str(report_path),
        ]
        started = time.monotonic()
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=playbook.parent, check=False
        )
        seconds = time.monotonic() - started
        report = json.loads(report_path.read_text()) if report_path.exists() else None
        result = RunResult("native", done.returncode == 0, seconds, output=done.stdout + done.stderr, report=report)
        if report is not None:
            result.steps = steps_from_report(report)
        return result

    def run_converted(
        self, playbook: Path, sink: Sink, revision: str, collections: Path, timeout: float = 1800
    ) -> RunResult:
        """``choria-emulator playbook convert`` to an Ansible play, then ``ansible-playbook`` on it."""
        site = playbook.with_name(f"site-{revision}.yml")
        subprocess.run(
            [sys.executable, "-m", "choria_emulator", "playbook", "convert", str(playbook), "-o", str(site)],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        variables = {
            **{f"input_{name}": value for name, value in self.inputs(sink, revision).items()},
            "choria_servers": self.url,
            "choria_rpc_timeout": RPC_TIMEOUT,
            "choria_discovery_timeout": 3,
            "choria_ddl_path": str(DDL_DIR),
        }
        varfile = site.with_suffix(".vars.json")
        varfile.write_text(json.dumps(variables))
        callbacks = site.parent / "callback_plugins"
        callbacks.mkdir(exist_ok=True)
        (callbacks / "rehearsal_steps.py").write_text(STEP_CALLBACK)
        steps_file = site.with_suffix(".steps.jsonl")
        steps_file.unlink(missing_ok=True)
        bindir = Path(sys.executable).parent
        env = {
            **os.environ,
            "ANSIBLE_COLLECTIONS_PATH": str(collections),
            "ANSIBLE_CALLBACK_PLUGINS": str(callbacks),
            "ANSIBLE_CALLBACKS_ENABLED": "rehearsal_steps",
            "REHEARSAL_STEPS": str(steps_file),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "CHORIA_SLACK_API": f"{sink.url}/slack",
            "PATH": f"{bindir}:{os.environ.get('PATH', '')}",
        }
        command = [str(bindir / "ansible-playbook"), str(site), "-e", f"@{varfile}"]
        started = time.monotonic()
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=timeout, cwd=site.parent, check=False
        )
        seconds = time.monotonic() - started
        result = RunResult("converted", done.returncode == 0, seconds, output=done.stdout + done.stderr)
        try:
            result.steps = steps_from_ansible(steps_file.read_text() if steps_file.exists() else "")
        except ValueError:
            pass
        return result


def collections_path(repo: Path, directory: Path) -> Path:
    """An Ansible collections path whose ``chorialab.choria`` is a link to the checkout."""
    target = directory / "ansible_collections" / "chorialab"
    target.mkdir(parents=True, exist_ok=True)
    link = target / "choria"
    if not link.exists():
        link.symlink_to(repo)
    return directory


# ---- the whole rehearsal ---------------------------------------------------------------------

VARIANTS = ("success", "never_green")


@dataclass
class Rehearsal:
    """Every run of one rehearsal: ``runs[(variant, mode)]`` and what the sink received."""

    size: int
    try_sleep: float | None
    sizes: dict[str, int] = field(default_factory=dict)  # nodes per mode, where a mode ran at another size
    runs: dict[tuple[str, str], RunResult] = field(default_factory=dict)
    webhooks: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    fleet_start: dict[tuple[str, str], float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "try_sleep": self.try_sleep,
            "runs": [
                {
                    "variant": variant,
                    "nodes": self.sizes.get(mode, self.size),
                    "fleet_start_s": round(self.fleet_start[(variant, mode)], 2),
                    "webhooks": self.webhooks[(variant, mode)],
                    **run.to_dict(),
                }
                for (variant, mode), run in self.runs.items()
            ],
        }


def rehearse(
    workdir: Path,
    size: int,
    *,
    try_sleep: float | None = None,
    modes: tuple[str, ...] = ("native", "converted"),
    repo: Path | None = None,
    seed: int = 7,
    say: Any = print,
    sizes: dict[str, int] | None = None,
) -> Rehearsal:
    """The deploy on a fresh fleet per run: succeeding, then with 1 % never green; natively and converted.

    ``sizes`` gives a mode its own number of nodes (both run at ``size`` unless it says otherwise).
    """
    result = Rehearsal(size, try_sleep, dict(sizes or {}))
    sink = Sink()
    try:
        for variant in VARIANTS:
            for mode in modes:
                where = workdir / f"{variant}-{mode}"
                nodes = result.sizes.get(mode, size)
                started = time.monotonic()
                fleet = Fleet(where, nodes, never_green=variant == "never_green", seed=seed)
                result.fleet_start[(variant, mode)] = time.monotonic() - started
                say(
                    f"{variant}/{mode}: {nodes} nodes up on {len(fleet.nats.servers)} routed NATS servers "
                    f"in {result.fleet_start[(variant, mode)]:.1f} s; running the deploy"
                )
                try:
                    book = prepare_playbooks(where / "books", try_sleep=try_sleep)
                    before = len(sink.webhooks())
                    if mode == "native":
                        run = fleet.run_native(book, sink, "2.0.0")
                    else:
                        if repo is None:
                            raise ValueError("a converted run needs the collection checkout (repo)")
                        run = fleet.run_converted(book, sink, "2.0.0", collections_path(repo, workdir / "collections"))
                    result.runs[(variant, mode)] = run
                    result.webhooks[(variant, mode)] = sink.webhooks()[before:]
                    say(describe_run(run))
                finally:
                    fleet.stop()
    finally:
        sink.stop()
    return result


def describe_run(run: RunResult) -> str:
    lines = [f"  {run.mode} run: {'succeeded' if run.success else 'FAILED'} in {run.seconds:.1f} s"]
    for step in run.steps:
        tries = f" ({step.tries} tries)" if step.tries > 1 else ""
        lines.append(
            f"    {step.hook:10} {step.description[:58]:58} {step.seconds:8.2f} s{tries}"
            f"{'' if step.success else '  failed'}"
        )
    return "\n".join(lines)
