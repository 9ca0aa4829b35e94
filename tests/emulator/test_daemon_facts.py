"""Facts templates (``--facts``): per-instance variation, shared fact dicts, clear errors, filters over the network."""

from __future__ import annotations

import datetime
import json

import pytest
from choria_wire import run_cli

from choria_emulator.client import rpc
from choria_emulator.daemon.facts import FactsError, FactsTemplate

TEMPLATE = """\
facts:
  role: web
  os: {family: Debian, release: {major: 12}}
  rack: "r{index}"
  fqdn: "{identity}.example.net"
  cluster: "{name}"
  cpus: 4
vary:
  country: [mt, de, uk]
  os.release.major: [11, 12]
classes: [base]
vary_classes:
  - [apache]
  - [MySQL, php]
"""


def test_per_instance_variation():
    template = FactsTemplate.from_data(__import__("yaml").safe_load(TEMPLATE))
    facts = template.facts_for(4, "node-4", "node")
    assert facts == {
        "role": "web",
        "os": {"family": "Debian", "release": {"major": 11}},  # 4 % 2
        "rack": "r4",
        "fqdn": "node-4.example.net",
        "cluster": "node",
        "cpus": 4,
        "country": "de",  # 4 % 3
    }
    assert template.facts_for(3, "node-3", "node")["os"]["release"]["major"] == 12  # 3 % 2
    assert template.facts_for(0, "node-0", "node")["country"] == "mt"
    assert template.classes_for(0) == ("base", "apache")
    assert template.classes_for(1) == ("base", "mysql", "php")  # classes compare lower-cased, as go-choria


def test_equal_fact_dicts_are_shared():
    template = FactsTemplate.from_data({"facts": {"role": "db"}, "vary": {"country": ["mt", "de", "uk"]}})
    dicts = [template.facts_for(i, f"n-{i}", "n") for i in range(300)]
    assert len({id(d) for d in dicts}) == 3
    assert dicts[0] is dicts[3] and dicts[1] is dicts[4] and dicts[0] is not dicts[1]
    classes = FactsTemplate.from_data({"vary_classes": [["a"], ["b"]]})
    assert classes.classes_for(0) is classes.classes_for(2)


def test_vary_choices_are_not_shared_between_different_dicts():
    template = FactsTemplate.from_data(
        {"facts": {"rack": "{index}"}, "vary": {"os": [{"family": "Debian"}], "os.release": [1, 2]}}
    )
    first, second = template.facts_for(0, "a", "n"), template.facts_for(1, "b", "n")
    assert first["os"] == {"family": "Debian", "release": 1}
    assert second["os"] == {"family": "Debian", "release": 2}


def test_static_facts_without_template_keys_and_yaml_values_become_json():
    template = FactsTemplate.from_data({"role": "web", "built": datetime.date(2024, 1, 2)})
    assert template.facts_for(0, "a", "n") == {"role": "web", "built": "2024-01-02"}
    json.dumps(template.facts_for(0, "a", "n"))


def test_literal_braces():
    template = FactsTemplate.from_data({"facts": {"json": "{{not a placeholder}}"}})
    assert template.facts_for(0, "a", "n") == {"json": "{not a placeholder}"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "must be a mapping"),
        ({"facts": {}, "extra": 1}, "unknown keys extra"),
        ({"facts": [1]}, "facts must be a mapping"),
        ({"vary": {"country": []}}, "vary must map fact paths to non-empty lists"),
        ({"vary": {"country": "mt"}}, "vary must map fact paths to non-empty lists"),
        ({"vary": {"a..b": [1]}}, "empty fact path"),
        ({"classes": "apache"}, "classes must be a list of strings"),
        ({"vary_classes": ["apache"]}, "vary_classes must be a list of lists of strings"),
        ({"facts": {"rack": "r{indx}"}}, "unknown placeholder {indx}"),
        ({"facts": {"deep": [{"x": "{0}"}]}}, "facts.deep[0].x"),
    ],
)
def test_bad_templates_fail_with_a_message(data, message):
    with pytest.raises(FactsError, match=message.replace("{", r"\{").replace("[", r"\[")):
        FactsTemplate.from_data(data, "template.yaml")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("facts: [unclosed", "cannot read facts template"),
        ("- just\n- a list\n", "must be a mapping"),
        ("facts:\n  rack: 'r{bad}'\n", "unknown placeholder {bad}"),
    ],
)
def test_bad_template_stops_the_emulator_at_start(tmp_path, nats_server, content, message):
    path = tmp_path / "facts.yaml"
    path.write_text(content)
    result = run_cli(
        "emulate", "-i", "5", "--server", nats_server.url, "--http-port", "0", "--facts", str(path), timeout=60
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("choria-emulator emulate: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_missing_template_file(nats_server, tmp_path):
    result = run_cli(
        "emulate", "-i", "5", "--server", nats_server.url, "--facts", str(tmp_path / "nope.yaml"), timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"choria-emulator emulate: --facts: file not found: {tmp_path / 'nope.yaml'}"


@pytest.fixture(scope="module")
def facts_network(tmp_path_factory, nats_server):
    from choria_emulator.testing.localnet import Emulator

    workdir = tmp_path_factory.mktemp("facts-network")
    (workdir / "facts.yaml").write_text(TEMPLATE)
    emulator = Emulator.start(
        nats_server.url,
        30,
        "--facts",
        str(workdir / "facts.yaml"),
        "--workers",
        "2",
        "--collectives",
        "2",
        name="fx",
        workdir=workdir,
    )
    yield emulator
    emulator.stop()


def expected(predicate) -> list[str]:
    return sorted(f"fx-{i}" for i in range(30) if predicate(i))


def test_fact_and_class_filters_through_the_network(facts_network, nats_server):
    def discover(want: list[str], *flags: str) -> list[str]:
        # stop at the expected count (late extra answers would still show up as a mismatch), or wait 2 s for none
        wait = ["--expect", str(len(want)), "--timeout", "30"] if want else ["--timeout", "2"]
        result = run_cli("discover", "--server", nats_server.url, *wait, *flags)
        assert result.returncode == (0 if want else 1), result.stderr
        return sorted(result.stdout.split())

    # country = mt for i % 3 == 0, apache for even i, os.release.major 12 for odd i
    cases = [
        (expected(lambda i: i % 3 == 0 and i % 2 == 0), ["-F", "country=mt", "-C", "apache"]),
        (expected(lambda i: i % 3 != 0), ["-F", "country=/^(de|uk)$/"]),
        (expected(lambda i: i % 2 == 1), ["-C", "mysql", "-F", "os.release.major>=12"]),
        (["fx-7"], ["-F", "rack=r7"]),
        ([], ["-F", "cpus>4"]),
        (expected(lambda i: i % 2 == 1), ["-C", "/^ph/", "-T", "collective1"]),
        (["fx-12", "fx-18"], ["-F", "country=mt", "-I", "/^fx-1/", "-C", "apache"]),
    ]
    for want, flags in cases:
        assert discover(want, *flags) == want, flags


async def test_facts_through_rpcutil(facts_network, client):
    result = await rpc(
        client, "rpcutil", "get_fact", {"fact": "os.release.major"}, targets=["fx-3", "fx-4"], timeout=10
    )
    assert {r["sender"]: r["data"]["value"] for r in result.replies} == {"fx-3": 12, "fx-4": 11}
    result = await rpc(client, "rpcutil", "get_facts", {"facts": "country,rack,missing"}, targets=["fx-5"], timeout=10)
    assert result.replies[0]["data"] == {"values": {"country": "uk", "rack": "r5", "missing": None}}
    result = await rpc(client, "rpcutil", "inventory", {}, targets=["fx-1"], timeout=10)
    data = result.replies[0]["data"]
    assert data["classes"] == ["base", "mysql", "php"]
    assert data["facts"]["fqdn"] == "fx-1.example.net" and data["facts"]["cluster"] == "fx"
