"""Real parts for the galaxy and AWX tiers: the built and installed collection, a nats-server, Ansible CLIs."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from choria_emulator.testing.localnet import NatsServer, kill_pid_files

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
VENV = BIN.parent


def run(
    command: list, cwd: Path, env: dict | None = None, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run an Ansible CLI from this venv; on failure the assertion shows its whole output."""
    path = os.pathsep.join([str(BIN), os.environ.get("PATH", "")])
    proc = subprocess.run(
        [str(BIN / command[0]), *map(str, command[1:])],
        cwd=cwd,
        env=dict(os.environ, PATH=path, **(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check:
        assert proc.returncode == 0, f"{' '.join(map(str, command))} exited {proc.returncode}:\n{proc.stdout}"
    return proc


@pytest.fixture(scope="session")
def collection_tarball(tmp_path_factory) -> Path:
    """``ansible-galaxy collection build`` of this checkout."""
    out = tmp_path_factory.mktemp("dist")
    run(["ansible-galaxy", "collection", "build", "--output-path", out, REPO], cwd=out)
    (tarball,) = out.glob("chorialab-choria-*.tar.gz")
    return tarball


@pytest.fixture(scope="session")
def installed_collections(collection_tarball, tmp_path_factory) -> Path:
    """The tarball installed with ``ansible-galaxy collection install -p``, as users get it."""
    path = tmp_path_factory.mktemp("collections")
    run(["ansible-galaxy", "collection", "install", "-p", path, collection_tarball], cwd=path)
    assert (path / "ansible_collections" / "chorialab" / "choria" / "MANIFEST.json").exists()
    return path


@pytest.fixture
def outside(tmp_path, installed_collections) -> dict:
    """A working directory outside the checkout and an environment that sees only the installed collection."""
    return {"cwd": tmp_path, "env": {"ANSIBLE_COLLECTIONS_PATH": str(installed_collections), "ANSIBLE_NOCOLOR": "1"}}


@pytest.fixture
def broker(tmp_path):
    server = NatsServer.start(workdir=tmp_path / "broker")
    yield server
    server.stop()


@pytest.fixture
def run_dir(tmp_path):
    """Where the playbooks keep PID, port and log files; anything still running afterwards is a failure."""
    path = tmp_path / "run"
    path.mkdir()
    yield path
    leftovers = kill_pid_files(path)
    assert not leftovers, f"processes left running: {leftovers}"


def tarball_names(tarball: Path) -> set:
    with tarfile.open(tarball) as archive:
        return set(archive.getnames())
