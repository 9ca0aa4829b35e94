"""Cached virtual environments for the publishing tools: one per ansible-core line, one for galaxy-importer.

ansible-test sanity must run with each ansible-core release the collection claims, and
galaxy-importer pins its own ansible-lint; none of them can share the project's .venv. Each venv
lives outside the checkout under ``$CHORIA_TOOLS_CACHE`` (default ``/var/cache/chorialab/tools``),
named by the tool and a hash of its exact requirements and the Python version, so a changed pin
builds a new one and an unchanged one is reused (about 10 s to build each, 0 s to reuse).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

CACHE = Path(os.environ.get("CHORIA_TOOLS_CACHE", "/var/cache/chorialab/tools"))

# ansible-core releases tested for each line in meta/runtime.yml's requires_ansible.
ANSIBLE_CORE = {"2.16": "2.16.19", "2.17": "2.17.14", "2.18": "2.18.19", "2.19": "2.19.14"}
# What Galaxy and Automation Hub run on upload; ansible-lint and ansible-core pinned so findings do not drift.
GALAXY_IMPORTER = ["galaxy-importer==0.4.44", "ansible-lint==26.10.1", "ansible-core==2.19.14"]


def tool_venv(name: str, requirements: list[str]) -> Path:
    """The venv for ``requirements``, built once (under a lock, so parallel runs wait for one build)."""
    key = hashlib.sha256(json.dumps([sys.version_info[:2], sorted(requirements)]).encode()).hexdigest()[:12]
    path = CACHE / f"{name}-{key}"
    done = path / ".complete"
    if done.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return path
        shutil.rmtree(path, ignore_errors=True)  # a build that died half-way
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        proc = subprocess.run([*pip, *requirements], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            shutil.rmtree(path, ignore_errors=True)
            raise RuntimeError(f"pip install {' '.join(requirements)} failed:\n{proc.stdout}{proc.stderr}")
        done.write_text("\n".join(requirements) + "\n")
    return path


def ansible_core_venv(line: str) -> Path:
    return tool_venv(f"ansible-core-{line}", [f"ansible-core=={ANSIBLE_CORE[line]}"])


def galaxy_importer_venv() -> Path:
    return tool_venv("galaxy-importer", GALAXY_IMPORTER)
