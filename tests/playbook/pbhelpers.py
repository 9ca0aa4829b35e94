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
