"""Helpers the playbook tests share (a module of its own: conftest.py is not importable by name)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SAMPLES = HERE / "samples"
FIXTURES = HERE / "fixtures"
NETWORK_SIZE = 8
HEADER = {
    "name": "test_playbook",
    "version": "1.0.0",
    "author": "tests",
    "description": "playbook under test",
    "run_as": "choria=deployer.test",
}

FACTS = {
    "facts": {"role": "web", "cluster": "alpha"},
    "vary": {"country": ["uk", "de"]},
    "classes": ["base"],
    "vary_classes": [["apache"], ["mysql"]],
}


def sample(name: str) -> Path:
    return SAMPLES / name


def load_sample(name: str) -> Any:
    from choria_emulator.playbook.yamlload import load_yaml_file

    return load_yaml_file(sample(name))


def complete(data: dict[str, Any] | list[Any], **extra: Any) -> dict[str, Any]:
    """A doc fragment made a runnable playbook: metadata added, a bare task list put under ``tasks``."""
    body = {"tasks": data} if isinstance(data, list) else dict(data)
    return {**HEADER, **body, **extra}


class SleepRecorder:
    """Stands in for ``time.sleep`` so retries are fast and their pauses can be checked."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dump_yaml(data: Any) -> str:
    """YAML that keeps Ruby symbols as unquoted ``:name`` (so they load back as symbols)."""
    import yaml

    from choria_emulator.playbook.yamlload import Symbol

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(
        Symbol,
        lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", f":{str.__str__(value)}", style=""),
    )
    return yaml.dump(data, Dumper=Dumper, sort_keys=False)


CONVERTIBLE = sorted(
    p.name
    for p in SAMPLES.glob("*.yaml")
    if "consul" not in p.name
    and "illegal" not in p.name
    and "node_source_file" not in p.name
    and "file_data" not in p.name
    and p.name != "mcollective-choria__spec_fixtures_playbooks__nodes.yaml"
)


def convertible_sample(name: str) -> dict[str, Any]:
    """A sample as a whole playbook: fragments completed with metadata and whatever they use but do not declare."""
    import json
    import re

    data = load_sample(name)
    data = complete(data) if isinstance(data, list) or "name" not in data else data
    if name.endswith("slack_on_fail.yaml"):
        data = complete({"hooks": {"on_fail": data["on_fail"]}})
    for kind, ref in re.findall(r"(inputs?|nodes)\.(\w+)", json.dumps(data, default=str)):
        if kind == "nodes":
            data.setdefault("nodes", {}).setdefault(ref, {"type": "yaml", "source": "nodes.yaml", "group": ref})
        else:
            data.setdefault("inputs", {}).setdefault(ref, {"description": ref, "type": "String"})
    if name.endswith("slack_on_fail.yaml") or "app_upgrade_first" in name:
        for hook in (data.get("hooks") or {}).values():
            for item in hook:
                item.get("slack", {}).setdefault("text", item.get("slack", {}).get("message"))
    for item in data.get("tasks") or []:
        if "mcollective" in item:  # templates__nodes_array shows only the nodes property
            item["mcollective"].setdefault("action", "rpcutil.ping")
    if "locks.yaml" in name:
        data["data_stores"] = {"consul_store": {"type": "nats_kv"}}
    return data


def write_convertible_samples(directory: Path) -> list[Path]:
    """Every convertible sample converted into ``directory``; the converted files."""
    from choria_emulator.playbook.convert import convert_file

    directory.mkdir(parents=True, exist_ok=True)
    sites = []
    for name in CONVERTIBLE:
        source = directory / name
        source.write_text(dump_yaml(convertible_sample(name)))
        site = directory / f"{Path(name).stem}.yml"
        convert_file(source, site)
        source.unlink()
        sites.append(site)
    return sites
