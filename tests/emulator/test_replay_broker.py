"""bench/scale/replay_broker.py, the stand-in broker of ``make bench-client-intake``, is a fair one.

The client-intake benchmark claims that ``ping`` and ``discover`` take its ready-made replies exactly
as they take an emulated network's: every reply is counted once, under its own identity, also when
``--collectors`` shares them out through a queue group. If the stand-in lost or duplicated frames,
the benchmark would time something else.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("choria-emulator"))
N = 3000


@pytest.fixture(scope="module")
def replay():
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "bench" / "scale" / "replay_broker.py"), str(N)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        yield f"127.0.0.1:{info['port']}"
    finally:
        proc.terminate()
        proc.wait(10)


def cli(*args: str) -> str:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60, check=True).stdout


def test_ping_counts_every_replayed_reply(replay):
    out = cli("ping", "--server", replay, "--expect", str(N), "--timeout", "10", "--quiet")
    assert re.search(rf"^{N} replies ", out, re.M), out


@pytest.mark.parametrize("collectors", ["1", "3"])
def test_discover_sees_each_identity_once(replay, collectors):
    out = cli("discover", "--server", replay, "--expect", str(N), "--timeout", "10", "--collectors", collectors)
    found = [line for line in out.splitlines() if line.startswith("node-")]
    assert sorted(found) == sorted(f"node-{i}" for i in range(N))
