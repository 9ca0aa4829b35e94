"""Run this checkout's playbooks with the real ansible-playbook, results as JSON (json callback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def inventory(path: Path) -> Path:
    """localhost only, local connection, this Python for the modules."""
    path.write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        f"      ansible_python_interpreter: {sys.executable}\n"
    )
    return path


def playbook(
    name: str, inv: Path, *args: str, extra: dict[str, Any] | None = None, timeout: float = 600
) -> tuple[int, dict[str, Any], str]:
    """(exit code, json callback document, stderr) of ``ansible-playbook playbooks/NAME``."""
    command = [str(BIN / "ansible-playbook"), "-i", str(inv), str(ROOT / "playbooks" / name), *args]
    if extra:
        command += ["-e", json.dumps(extra)]
    env = dict(
        os.environ,
        ANSIBLE_STDOUT_CALLBACK="results_json",
        ANSIBLE_CALLBACK_PLUGINS=str(Path(__file__).parent / "callback_plugins"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_DEPRECATION_WARNINGS="false",
    )
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=inv.parent)
    try:
        document = json.loads(result.stdout)
    except ValueError:
        document = {"raw": result.stdout}
    return result.returncode, document, result.stderr


def task_results(document: dict[str, Any], task_name: str) -> list[dict[str, Any]]:
    """Every host result of the tasks whose name contains ``task_name`` (roles prefix theirs)."""
    found = []
    for play in document.get("plays", []):
        for task in play.get("tasks", []):
            if task_name in task["task"]["name"]:
                found.extend(task["hosts"].values())
    return found
