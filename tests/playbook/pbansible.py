"""Running converted playbooks with the real ansible-playbook, and comparing them with native runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from choria_emulator.playbook import Playbook, RunOptions
from choria_emulator.playbook.convert import convert_file

BIN = Path(sys.executable).parent


@dataclass
class AnsibleRun:
    returncode: int
    stdout: str
    stderr: str
    site: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def ansible_env(collections: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        **extra,
    }


def ansible_playbook(
    collections: Path,
    site: Path,
    extra_vars: dict[str, Any],
    env: dict[str, str] | None = None,
    check: bool = False,
    timeout: float = 300,
) -> AnsibleRun:
    varfile = site.with_suffix(".vars.json")
    varfile.write_text(json.dumps(extra_vars))
    command = [str(BIN / "ansible-playbook"), str(site), "-e", f"@{varfile}"]
    if check:
        command.append("--check")
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=ansible_env(collections, **(env or {})),
        timeout=timeout,
        cwd=site.parent,
    )
    return AnsibleRun(done.returncode, done.stdout, done.stderr, site)


def ansible_lint(collections: Path, files: list[Path], cwd: Path) -> list[dict[str, Any]]:
    """ansible-lint --profile production over ``files``: its findings (codeclimate JSON), offline."""
    done = subprocess.run(
        [str(BIN / "ansible-lint"), "--profile", "production", "--offline", "-f", "codeclimate", *map(str, files)],
        capture_output=True,
        text=True,
        env=ansible_env(collections, ANSIBLE_LINT_NODEPS="1", NO_COLOR="1"),
        cwd=cwd,
        timeout=600,
    )
    assert done.stdout.strip().startswith("["), done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(done.stdout)


def rpc_calls(lines: list[dict[str, Any]]) -> list[tuple[str, str, tuple[str, ...], str]]:
    """Audit lines grouped per request, in order: ``(agent, action, sorted nodes, data as JSON)``."""
    requests: OrderedDict[str, dict[str, Any]] = OrderedDict()
    for line in lines:
        entry = requests.setdefault(
            line["request_id"],
            {
                "agent": line["agent"],
                "action": line["action"],
                "nodes": set(),
                "data": json.dumps(line["data"], sort_keys=True),
            },
        )
        entry["nodes"].add(line["identity"])
    return [(r["agent"], r["action"], tuple(sorted(r["nodes"])), r["data"]) for r in requests.values()]


@dataclass
class Comparison:
    native_success: bool
    native_error: str | None
    ansible: AnsibleRun
    native_calls: list[tuple[str, str, tuple[str, ...], str]]
    ansible_calls: list[tuple[str, str, tuple[str, ...], str]]
    native_http: list[tuple[str, str]] = field(default_factory=list)
    ansible_http: list[tuple[str, str]] = field(default_factory=list)
    native_report: dict[str, Any] = field(default_factory=dict)

    def explain(self) -> str:
        return (
            f"native success={self.native_success} error={self.native_error}\n"
            f"ansible rc={self.ansible.returncode}\n{self.ansible.stdout[-6000:]}\n{self.ansible.stderr[-3000:]}"
        )


def write_playbook(directory: Path, data: dict[str, Any], name: str = "choria.yaml") -> Path:
    path = directory / name
    from pbhelpers import dump_yaml

    path.write_text(dump_yaml(data))
    return path


def run_native(path: Path, inputs: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    return Playbook.load(path, RunOptions(quiet=True, **options)).run(inputs)


def convert_to(path: Path, directory: Path) -> Path:
    site = directory / "site.yml"
    convert_file(path, site, survey="")
    return site
