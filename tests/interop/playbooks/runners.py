"""Running one Choria playbook three ways and recording what each run did.

* ``real`` - the unmodified mcollective-choria 0.6.0 runner: ``client.sh URL playbook run FILE
  --input JSON --report --report-file F`` (as user ``choria-mco``);
* ``native`` - ``choria-emulator playbook run FILE --input JSON --server URL --report F``;
* ``converted`` - ``choria-emulator playbook convert`` + ``ansible-playbook`` with the inputs as
  ``input_<name>`` extra variables.

What a run did (:class:`Observed`): its outcome, the lines the playbook's tasks wrote to the
case's log file (the order of task sets and hooks), the case's store files afterwards, the RPC
requests the emulated nodes received in order (the audit log), and the HTTP requests the sink
received. Values that differ on every run (request ids, UUIDs, run times, the caller) are
normalised before comparing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from realchoria import mco

BIN = Path(sys.executable).parent
RUNNERS = ("real", "native", "converted")
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b[0-9a-f]{32}\b")
SECONDS = re.compile(r"(?<![\w.])\d+\.\d+(?:e-?\d+)?(?![\w.])|(?<![\w.])\d+\.\d+(?=s\b)")


@dataclass
class Observed:
    """What one run did, normalised."""

    runner: str
    success: bool
    log: list[str] = field(default_factory=list)
    stores: dict[str, Any] = field(default_factory=dict)
    rpc: list[tuple[str, str, tuple[str, ...], str]] = field(default_factory=list)
    http: list[dict[str, Any]] = field(default_factory=list)
    report: dict[str, Any] | None = None
    output: str = ""

    def view(self, aspects: tuple[str, ...]) -> dict[str, Any]:
        return {aspect: getattr(self, aspect) for aspect in aspects}


def normalise(text: str) -> str:
    """Request ids and UUIDs as ``ID``, decimal numbers (run times) as ``N``."""
    return SECONDS.sub("N", ID.sub("ID", text))


def rpc_calls(lines: list[dict[str, Any]]) -> list[tuple[str, str, tuple[str, ...], str]]:
    """Audit lines per request, in order: ``(agent, action, sorted nodes, data as JSON)``.

    The Ruby client adds ``process_results`` to every request's data; it says nothing about the
    request, so it is left out."""
    requests: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for line in lines:
        data = {k: v for k, v in (line.get("data") or {}).items() if k != "process_results"}
        entry = requests.setdefault(
            line["request_id"],
            {
                "agent": line["agent"],
                "action": line["action"],
                "nodes": set(),
                "data": json.dumps(data, sort_keys=True),
            },
        )
        entry["nodes"].add(line["identity"])
    return [(r["agent"], r["action"], tuple(sorted(r["nodes"])), r["data"]) for r in requests.values()]


def http_view(requests: list[Any]) -> list[dict[str, Any]]:
    """Requests as method, path, query, body and headers; ids and times left out."""
    view = []
    for request in requests:
        parts = urllib.parse.urlsplit(request.path)
        body: Any = request.body.decode()
        if request.headers.get("Content-Type") == "application/json" and body:
            body = json.loads(body)
            if isinstance(body, dict):
                body.pop("when", None)
        view.append(
            {
                "method": request.method,
                "path": parts.path,
                "query": parts.query,
                "body": body,
                "content_type": request.headers.get("Content-Type"),
                "user_agent": request.headers.get("User-Agent"),
                "request_id": bool(request.headers.get("X-Choria-Request-ID")),
                "custom": {
                    k: v
                    for k, v in request.headers.items()
                    if k.lower().startswith("x-") and k.lower() != "x-choria-request-id"
                },
            }
        )
    return view


def ansible_env(collections: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    }


def run_real(path: Path, inputs: dict[str, Any], url: str, workdir: Path) -> tuple[bool, str, dict[str, Any] | None]:
    report = workdir / "real-report.yaml"
    report.unlink(missing_ok=True)
    args = ["playbook", "run", str(path), "--input", json.dumps(inputs), "--report", "--report-file", str(report)]
    result = mco(url, *args, version="0.6.0", timeout=300)
    data = yaml.safe_load(report.read_text()) if report.exists() else None
    outcome = re.search(r"Overall outcome: (\w+)", result.stdout)
    success = result.rc == 0 and bool(outcome) and outcome.group(1) == "success"
    return success, f"{result}", data


def with_home(env: dict[str, str], home: Path | None) -> dict[str, str]:
    """``env`` where the Choria client settings come only from ``home``'s ``.choriarc`` (when given)."""
    if home is None:
        return env
    return {**{k: v for k, v in env.items() if k != "CHORIA_CONFIG"}, "HOME": str(home)}


def run_native(
    path: Path, inputs: dict[str, Any], url: str, workdir: Path, home: Path | None = None
) -> tuple[bool, str, dict[str, Any] | None]:
    """Without ``home`` the broker is ``--server url``; with it, ``home/.choriarc`` names it."""
    report = workdir / "native-report.json"
    report.unlink(missing_ok=True)
    command = [str(BIN / "choria-emulator"), "playbook", "run", str(path), "--input", json.dumps(inputs)]
    command += ([] if home else ["--server", url]) + ["--report", str(report)]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        env=with_home(dict(os.environ), home),
    )
    data = json.loads(report.read_text()) if report.exists() else None
    return done.returncode == 0, f"rc={done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}", data


def run_converted(
    path: Path, inputs: dict[str, Any], url: str, workdir: Path, collections: Path, home: Path | None = None
) -> tuple[bool, str, dict[str, Any] | None]:
    """Without ``home`` the broker is ``-e choria_servers``; with it, ``home/.choriarc`` names it."""
    site = workdir / "site.yml"
    converted = subprocess.run(
        [str(BIN / "choria-emulator"), "playbook", "convert", str(path), "-o", str(site)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if converted.returncode != 0:
        return False, f"convert failed: {converted.stderr}", None
    variables = {f"input_{name}": value for name, value in inputs.items()}
    if home is None:
        variables["choria_servers"] = [url]
    varfile = workdir / "vars.json"
    varfile.write_text(json.dumps(variables))
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), str(site), "-e", f"@{varfile}"],
        capture_output=True,
        text=True,
        timeout=600,
        env=with_home(ansible_env(collections), home),
        cwd=workdir,
        stdin=subprocess.DEVNULL,
    )
    return done.returncode == 0, f"rc={done.returncode}\n{done.stdout[-8000:]}\n{done.stderr[-3000:]}", None
