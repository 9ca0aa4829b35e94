"""Fixtures of the playbook differential suite (issue 11 part 3), on top of the interop tier's.

* ``pb_network`` - a broker of the suite's own with 8 emulated nodes ``pbn-0`` .. ``pbn-7`` (the
  tier's facts: role web/web/db, country mt/de) whose every RPC goes to an audit log;
* ``sink`` - a local HTTP server recording webhook and Graphite requests;
* ``case_dir`` - a scratch directory every user can write: the real 0.6.0 runner runs as the
  unprivileged ``choria-mco`` (it refuses root) and reads and writes the same files as ours;
* ``collections`` - an ``ANSIBLE_COLLECTIONS_PATH`` where ``chorialab.choria`` is this checkout.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sink import HTTPSink

NODES = 8


@dataclass
class AuditedNetwork:
    """The suite's emulated network and its audit log."""

    url: str
    audit: Path
    identities: list[str]

    def audit_lines(self) -> list[dict[str, Any]]:
        if not self.audit.exists():
            return []
        return [json.loads(line) for line in self.audit.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def pb_network(brokers, emulators, tmp_path_factory: pytest.TempPathFactory) -> AuditedNetwork:
    broker = brokers.start()
    audit = tmp_path_factory.mktemp("pb-audit") / "audit.jsonl"
    emulators.start(broker, NODES, name="pbn", extra=("--audit", str(audit)))
    return AuditedNetwork(broker.url, audit, [f"pbn-{i}" for i in range(NODES)])


@pytest.fixture
def sink():
    server = HTTPSink()
    yield server
    server.stop()


@pytest.fixture
def case_dir():
    """A short, world-writable directory (paths appear in commands and in the converted play)."""
    path = Path(tempfile.mkdtemp(prefix="pbd-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def collections(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("collections")
    (root / "ansible_collections" / "chorialab").mkdir(parents=True)
    (root / "ansible_collections" / "chorialab" / "choria").symlink_to(Path(__file__).resolve().parents[3])
    return root
