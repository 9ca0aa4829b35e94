"""The ``/debug/vars`` contract between the daemon and the collection's modules.

``daemon/supervisor.py`` serves ``/debug/vars``; ``plugins/module_utils/emulator.py`` (the ``emulator``
and ``emulator_info`` modules, on targets) reads it. One fixture,
``tests/unit/plugins/module_utils/fixtures/debug_vars.json``, stands for what the daemon serves: the
module's unit tests read their sample from it, and this test holds its shape to a real emulator's, so
neither side can rename or drop a key without the other's tests failing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "unit" / "plugins" / "module_utils" / "fixtures" / "debug_vars.json"
# Sections whose keys the fixture lists completely; "counters" and the workers' entries grow with
# features, so the fixture names only some of theirs.
COMPLETE = ("", "config", "memstats", "scenario")
UPDATE = f"update {FIXTURE.relative_to(REPO)} with the daemon's /debug/vars"


def _module_utils_emulator() -> Any:
    sys.path.insert(0, str(REPO / "playbooks" / "collections"))  # the checkout's collection link
    try:
        from ansible_collections.chorialab.choria.plugins.module_utils import emulator
    finally:
        sys.path.remove(str(REPO / "playbooks" / "collections"))
    return emulator


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _differences(fixture: Any, live: Any, path: str = "") -> list[str]:
    """Where the fixture's shape is not the live document's: missing or extra keys, other JSON types."""
    found = []
    if fixture is None or live is None:  # null where the other has a value: allowed both ways
        return found
    if _kind(fixture) != _kind(live):
        return [f"{path or '/'}: {_kind(fixture)} in the fixture, {_kind(live)} served"]
    if isinstance(fixture, dict):
        for key in sorted(set(fixture) - set(live)):
            found.append(f"{path}/{key}: in the fixture, not served")
        if path.lstrip("/") in COMPLETE:
            for key in sorted(set(live) - set(fixture)):
                found.append(f"{path}/{key}: served, not in the fixture")
        for key in sorted(set(fixture) & set(live)):
            found += _differences(fixture[key], live[key], f"{path}/{key}")
    elif isinstance(fixture, list) and fixture and live:
        found += _differences(fixture[0], live[0], f"{path}/0")
    return found


@pytest.fixture(scope="module")
def served(nats_server, tmp_path_factory) -> dict[str, Any]:
    from choria_emulator.testing.localnet import Emulator

    emulator = Emulator.start(
        nats_server.url, 3, "--workers", "2", name="contract", workdir=tmp_path_factory.mktemp("contract")
    )
    try:
        return emulator.wait_connected(timeout=60)
    finally:
        emulator.stop()


def test_the_fixture_has_the_shape_of_a_real_emulators_debug_vars(served):
    fixture = json.loads(FIXTURE.read_text())
    assert _differences(fixture, served) == [], UPDATE


def test_the_module_reads_every_field_it_reports_from_a_real_emulator(served):
    status = _module_utils_emulator().status(served, None, "http://127.0.0.1:1")
    missing = sorted(key for key, value in status.items() if value is None)
    assert missing == [], "fields emulator_info reports that a real emulator's /debug/vars does not have"
    assert status["instances"] == status["connected"] == 3 and status["workers"] == 2
    assert status["pid"] == served["config"]["pid"] and status["name"] == "contract"


def test_a_renamed_key_is_found():
    fixture = json.loads(FIXTURE.read_text())
    live = json.loads(FIXTURE.read_text())
    live["config"]["tls"] = live["config"].pop("TLS")
    live["workers"] = [{"worker": 0}]
    live["connected"] = "749"
    assert _differences(fixture, live) == [
        "/config/TLS: in the fixture, not served",
        "/config/tls: served, not in the fixture",
        "/connected: number in the fixture, str served",
        "/workers/0/id: in the fixture, not served",
    ]
