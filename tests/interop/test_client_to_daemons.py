"""Part 2 of issue 11: our client (``choria-emulator ping/discover/rpc/measure``) against real daemons.

Three real ``mcollectived`` (``real-0..2``, signed mode as real Choria runs: every request must
carry a valid signature of the harness CA's ``rip.mcollective``) with the facts and classes of
emulated nodes 0..2 and a real Ruby ``emulated0`` agent (``ruby/``), first alone, then joined
by 100 emulated nodes (``emulate --secure`` with the same CA) on the same broker. Every node
answers exactly once, and our client shows real and emulated nodes alike.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import emulated_classes, emulated_facts
from realchoria import CALLER, concurrently, ssl_file

REAL = [f"real-{i}" for i in range(3)]
EMULATED = 100
SIGNED = ["--secure", "--tls-cert", ssl_file(f"{CALLER}.pem"), "--tls-key", ssl_file(f"{CALLER}.key")]
SIGNED += ["--certname", CALLER]


@dataclass
class Run:
    args: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.strip()]

    def __str__(self) -> str:
        return f"choria-emulator {' '.join(self.args)}: rc={self.rc}\n{self.stdout[-3000:]}\n{self.stderr[-3000:]}"


def ours(url: str, *args: str) -> Run:
    proc = subprocess.run(
        [sys.executable, "-m", "choria_emulator", *args, "--server", url, *SIGNED],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return Run(args, proc.returncode, proc.stdout, proc.stderr)


def node_facts(name: str) -> dict[str, Any]:
    return emulated_facts(int(name.rsplit("-", 1)[1]))


def node_classes(name: str) -> list[str]:
    return emulated_classes(int(name.rsplit("-", 1)[1]))


def commands(outdir: Path, label: str) -> dict[str, tuple[str, ...]]:
    return {
        "ping": ("ping", "--json"),
        "ping text": ("ping",),
        "discover identity": ("discover", "-I", "real-1"),
        "discover identity regex": ("discover", "-I", "/^(real|mix)-[02]$/"),
        "discover agent": ("discover", "-A", "emulated0"),
        "discover fact": ("discover", "-F", "role=db"),
        "discover fact number": ("discover", "-F", "cpus>2"),
        "discover class": ("discover", "-C", "database"),
        "discover class regex": ("discover", "-C", "/^web/"),
        "discover fact and class": ("discover", "-F", "country=mt", "-C", "webserver"),
        "discover compound": ("discover", "-S", "with('role=db')"),
        "inventory": ("rpc", "rpcutil", "inventory", "--json"),
        "inventory directed": ("rpc", "rpcutil", "inventory", "-I", "real-2", "--json"),
        "generate": ("rpc", "emulated0", "generate", "size=10", "--json"),
        "generate text": ("rpc", "emulated0", "generate", "size=4"),
        "measure": ("measure", "3", str(len(nodes_of(label))), label, str(outdir / "broadcast"), "--size", "50"),
        "measure direct": (
            "measure",
            "2",
            str(len(nodes_of(label))),
            label,
            str(outdir / "direct"),
            "--force-direct",
        ),
    }


def nodes_of(label: str) -> list[str]:
    return REAL + ([f"mix-{i}" for i in range(EMULATED)] if label == "mixed" else [])


@pytest.fixture(scope="module")
def results(brokers, daemons, emulators, tmp_path_factory):
    """Every command against the real daemons alone, then against real + emulated (same broker)."""
    broker = brokers.start()
    for i, name in enumerate(REAL):
        daemons.start(broker, name, facts=emulated_facts(i), classes=emulated_classes(i), emulated0=True)
    out: dict[str, dict[str, Run]] = {}
    for label in ("real", "mixed"):
        if label == "mixed":
            emulators.start(broker, EMULATED, name="mix", secure=True, agents=1)
        outdir = tmp_path_factory.mktemp(f"measure-{label}")
        calls = {key: (lambda args=args: ours(broker.url, *args)) for key, args in commands(outdir, label).items()}
        measures = {key: calls.pop(key) for key in ("measure", "measure direct")}
        out[label] = concurrently(calls, workers=4)
        out[label].update({key: call() for key, call in measures.items()})  # alone: they time the network
    return out


LABELS = ["real", "mixed"]


def once(names: list[str]) -> set[str]:
    assert len(names) == len(set(names)), f"some node answered twice: {sorted(names)}"
    return set(names)


@pytest.mark.parametrize("label", LABELS)
def test_ping(results, label):
    run = results[label]["ping"]
    assert run.rc == 0, run
    assert set(run.json["nodes"]) == set(nodes_of(label)), run
    assert run.json["summary"]["replies"] == len(nodes_of(label))
    text = results[label]["ping text"]
    assert once([line.split()[0] for line in text.lines if "time=" in line]) == set(nodes_of(label)), text


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize(
    ("key", "test"),
    [
        ("discover identity", lambda n, f, c: n == "real-1"),
        ("discover identity regex", lambda n, f, c: n in ("real-0", "real-2", "mix-0", "mix-2")),
        ("discover agent", lambda n, f, c: True),
        ("discover fact", lambda n, f, c: f["role"] == "db"),
        ("discover fact number", lambda n, f, c: f["cpus"] > 2),
        ("discover class", lambda n, f, c: "database" in c),
        ("discover class regex", lambda n, f, c: "webserver" in c),
        ("discover fact and class", lambda n, f, c: f["country"] == "mt" and "webserver" in c),
    ],
)
def test_discover_with_the_daemons_own_facts_and_classes(results, label, key, test):
    run = results[label][key]
    assert run.rc == 0, run
    expected = {n for n in nodes_of(label) if test(n, node_facts(n), node_classes(n))}
    assert expected, key
    assert once(run.lines) == expected, run


@pytest.mark.parametrize("label", LABELS)
def test_compound_filters_reach_only_emulated_nodes(results, label):
    """Our -S sends go-choria's [{"expr": ...}]; mcollective 2.12 only evaluates its own call stacks
    and fails a filter it cannot read (deliberate, docs/protocol.md Interoperability)."""
    run = results[label]["discover compound"]
    expected = {n for n in nodes_of(label) if n.startswith("mix-") and node_facts(n)["role"] == "db"}
    assert run.rc == (0 if expected else 1), run  # discover exits 1 when nobody answered
    assert once(run.lines) == expected, run


@pytest.mark.parametrize("label", LABELS)
def test_rpcutil_inventory(results, label):
    run = results[label]["inventory"]
    assert run.rc == 0, run
    replies = run.json["replies"]
    assert once([r["sender"] for r in replies]) == set(nodes_of(label)), run
    assert run.json["stats"]["noresponses"] == 0 and run.json["missing"] == []
    for reply in replies:
        name, data = reply["sender"], reply["data"]
        assert (reply["statuscode"], reply["statusmsg"]) == (0, "OK"), reply
        facts = node_facts(name)
        if name in REAL:  # mcollective's YAML fact source gives strings (docs/protocol.md)
            facts = {k: str(v) if isinstance(v, (int, float)) else v for k, v in facts.items()}
        assert data["facts"] == facts, reply
        assert data["classes"] == node_classes(name), reply
        assert {"rpcutil", "discovery", "emulated0"} <= set(data["agents"]), reply
    directed = results[label]["inventory directed"]
    assert [r["sender"] for r in directed.json["replies"]] == ["real-2"], directed


@pytest.mark.parametrize("label", LABELS)
def test_generate_same_answer_from_real_and_emulated(results, label):
    run = results[label]["generate"]
    assert run.rc == 0, run
    replies = run.json["replies"]
    assert once([r["sender"] for r in replies]) == set(nodes_of(label)), run
    shapes = {(tuple(sorted(r)), r["statuscode"], r["statusmsg"], json.dumps(r["data"])) for r in replies}
    assert shapes == {
        (
            ("action", "agent", "data", "requestid", "sender", "statuscode", "statusmsg", "time_ms"),
            0,
            "OK",
            '{"message": "0123456789"}',
        )
    }, shapes
    text = results[label]["generate text"]
    assert text.rc == 0, text
    shown = [line.split()[0] for line in text.lines if line.split()[-1:] == ["OK"]]
    assert once(shown) == set(nodes_of(label)), text
    assert text.stdout.count('{"message": "0123"}') == len(nodes_of(label)), text


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("key", ["measure", "measure direct"])
def test_measure_suite(results, label, key):
    run = results[label][key]
    assert run.rc == 0, run
    outdir = Path(run.args[4])
    report = json.loads((outdir / "report.json").read_text())
    count, size = int(run.args[1]), len(nodes_of(label))
    assert report["discovery"]["nodes"] == size
    tests = report["tests"]
    assert tests["count"] == tests["complete"] == count, report["tests"]
    assert tests["replies"] == tests["ok"] == count * size, report["tests"]
    assert tests["failed"] == tests["noresponses"] == tests["unexpected"] == 0, report["tests"]
    rows = (outdir / "requests.csv").read_text().splitlines()
    assert len(rows) == count + 1 and rows[0].startswith("test,description,payload_bytes,expected")
