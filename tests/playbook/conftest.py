"""Real parts for the playbook tests: nats-server (with JetStream), an emulated network with facts
and an audit log, etcd from Debian's etcd-server, and a local HTTP server for webhooks and Slack."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from pbhelpers import FACTS, NETWORK_SIZE, SleepRecorder, free_port

from choria_emulator.client import ClientConfig
from choria_emulator.playbook import Playbook, RunOptions
from choria_emulator.testing.localnet import Emulator, NatsServer


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def short_tmp():
    """A scratch directory with a short path (pytest's are long enough to pass ansible-lint's 160 columns alone)."""
    path = Path(tempfile.mkdtemp(prefix="pb-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def make_book(sleeps: SleepRecorder) -> Callable[..., Playbook]:
    """``make_book(data, **RunOptions fields)``: a quiet playbook whose sleeps are recorded."""

    def make(data: dict[str, Any], **options: Any) -> Playbook:
        options.setdefault("quiet", True)
        options.setdefault("sleep", sleeps)
        return Playbook.load(data, RunOptions(**options))

    return make


# -- NATS and the emulated network ------------------------------------------------------------
@pytest.fixture(scope="session")
def nats(tmp_path_factory: pytest.TempPathFactory):
    """One nats-server with JetStream for the session (network traffic and nats_kv stores)."""
    workdir = tmp_path_factory.mktemp("nats")
    server = NatsServer.start("-js", "--store_dir", str(workdir / "js"), workdir=workdir)
    yield server
    server.stop()


@dataclass
class Network:
    emulator: Emulator
    url: str
    audit: Path
    names: list[str] = field(default_factory=list)

    def client(self, **overrides: Any) -> ClientConfig:
        return ClientConfig.load(servers=[self.url], search_default_files=False, identity="playbook-tests", **overrides)

    def options(self, **extra: Any) -> dict[str, Any]:
        """RunOptions fields for a playbook run against this network."""
        return {"client": self.client(), "discovery_timeout": 0.5, "rpc_timeout": 2.0, **extra}

    def audit_lines(self) -> list[dict[str, Any]]:
        if not self.audit.exists():
            return []
        return [json.loads(line) for line in self.audit.read_text().splitlines() if line.strip()]

    def calls_since(self, mark: int) -> list[dict[str, Any]]:
        return self.audit_lines()[mark:]


@pytest.fixture(scope="session")
def network(nats: NatsServer, tmp_path_factory: pytest.TempPathFactory):
    """8 emulated nodes emu-0..emu-7: country uk (even) / de (odd), classes base + apache/mysql,
    agents rpcutil, choria_util, emulated0 and emulated1, every RPC written to an audit log."""
    workdir = tmp_path_factory.mktemp("network")
    facts = workdir / "facts.yaml"
    facts.write_text(yaml.safe_dump(FACTS))
    audit = workdir / "audit.jsonl"
    emulator = Emulator.start(
        nats.url,
        NETWORK_SIZE,
        "--agents",
        "2",
        "--workers",
        "1",
        "--facts",
        str(facts),
        "--audit",
        str(audit),
        name="emu",
        workdir=workdir,
    )
    yield Network(emulator, nats.url, audit, [f"emu-{i}" for i in range(NETWORK_SIZE)])
    emulator.stop()


# -- etcd ---------------------------------------------------------------------------------------
@dataclass
class Etcd:
    process: subprocess.Popen
    url: str

    def get(self, key: str) -> str | None:
        import base64

        body = json.dumps({"key": base64.b64encode(key.encode()).decode()}).encode()
        request = urllib.request.Request(f"{self.url}/v3/kv/range", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            kvs = json.loads(response.read()).get("kvs") or []
        return base64.b64decode(kvs[0]["value"]).decode() if kvs else None


@pytest.fixture(scope="session")
def etcd(tmp_path_factory: pytest.TempPathFactory):
    """A real etcd (Debian's etcd-server, installed by `make test`) on random ports."""
    binary = shutil.which("etcd") or "/usr/bin/etcd"
    workdir = tmp_path_factory.mktemp("etcd")
    client, peer = free_port(), free_port()
    url = f"http://127.0.0.1:{client}"
    log = open(workdir / "etcd.log", "ab")
    process = subprocess.Popen(
        [
            binary,
            "--name",
            "playbook-tests",
            "--data-dir",
            str(workdir / "data"),
            "--listen-client-urls",
            url,
            "--advertise-client-urls",
            url,
            "--listen-peer-urls",
            f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls",
            f"http://127.0.0.1:{peer}",
            "--initial-cluster",
            f"playbook-tests=http://127.0.0.1:{peer}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                if json.loads(response.read()).get("health") == "true":
                    break
        except (OSError, ValueError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"etcd did not start: {(workdir / 'etcd.log').read_text()[-2000:]}")
        time.sleep(0.1)
    yield Etcd(process, url)
    process.terminate()
    process.wait(10)


# -- a local HTTP endpoint for webhook, slack and graphite tasks ------------------------------
@dataclass
class Recorded:
    method: str
    path: str
    headers: Any  # http.client.HTTPMessage: case-insensitive lookups, as HTTP headers are
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HTTPRecorder:
    """Records every request; ``respond(path_prefix, status, body)`` sets the reply (default 200 ``{"ok":true}``)."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: list[tuple[str, int, str]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.requests.append(Recorded(self.command, self.path, self.headers, body))
                status, text = recorder.reply_for(self.path)
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def respond(self, prefix: str, status: int, body: str | dict[str, Any]) -> None:
        self.replies.insert(0, (prefix, status, body if isinstance(body, str) else json.dumps(body)))

    def reply_for(self, path: str) -> tuple[int, str]:
        for prefix, status, body in self.replies:
            if path.startswith(prefix):
                return status, body
        return 200, json.dumps({"ok": True})

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http() -> Any:
    recorder = HTTPRecorder()
    yield recorder
    recorder.stop()


@pytest.fixture(autouse=True)
def _no_real_slack(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing may reach the internet: Slack goes to a port nobody listens on unless a test says."""
    monkeypatch.setenv("CHORIA_SLACK_API", f"http://127.0.0.1:{free_port()}/api")


# -- Ansible ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def collections(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ANSIBLE_COLLECTIONS_PATH where chorialab.choria is this checkout."""
    root = tmp_path_factory.mktemp("collections")
    (root / "ansible_collections" / "chorialab").mkdir(parents=True)
    (root / "ansible_collections" / "chorialab" / "choria").symlink_to(Path(__file__).resolve().parents[2])
    return root
