"""The Python examples of docs/client.md run as they are against a real network of 10 ``emu-N`` instances."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "client.md"


def examples() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 2, "docs/client.md should hold the async and the blocking example"
    return blocks


def run_example(code: str, url: str) -> str:
    assert "nats://127.0.0.1:4222" in code
    result = subprocess.run(
        [sys.executable, "-c", code.replace("nats://127.0.0.1:4222", url)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_async_example(small_network, nats_server):
    out = run_example(examples()[0], nats_server.url).splitlines()
    assert re.match(r"^10 nodes answered, median \d+\.\d ms$", out[0])
    assert out[1] == "discovered: ['emu-0', 'emu-1', 'emu-2', 'emu-3', 'emu-4']"
    assert sorted(out[2:7]) == [f"emu-{i} 0 01234" for i in range(5)]
    assert out[7] == "success: True missing: []"


def test_blocking_example(small_network, nats_server):
    out = run_example(examples()[1], nats_server.url).splitlines()
    assert out[0] == "10"
    assert sorted(ast.literal_eval(out[1])) == [f"emu-{i}" for i in range(10)]
    assert ast.literal_eval(out[2]) == {"emu-1": "emu-1", "emu-2": "emu-2"}
    assert out[3] == "{'fact': 'os.family', 'operator': '==', 'value': 'Debian'}"
