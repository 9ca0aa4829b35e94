"""A small real network for the measure tests: one nats-server, 60 instances in two emulators."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest

from choria_emulator.testing.localnet import Emulator, NatsServer

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class Network:
    nats: NatsServer
    first: Emulator  # m-0 .. m-39
    second: Emulator  # n-0 .. n-19

    @property
    def size(self) -> int:
        return self.first.instances + self.second.instances


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("measure-net")
    nats = NatsServer.start(workdir=base / "nats")
    emulators: list[Emulator] = []
    try:
        emulators.append(Emulator.start(nats.url, 40, "--workers", "1", name="m", workdir=base / "emu-m"))
        emulators.append(Emulator.start(nats.url, 20, "--workers", "1", name="n", workdir=base / "emu-n"))
        yield Network(nats, *emulators)
    finally:
        for emulator in emulators:
            emulator.stop()
        nats.stop()


def measure(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``choria-emulator measure ...`` as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "choria_emulator", "measure", *args], capture_output=True, text=True, timeout=timeout
    )


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (after checking the signature)."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG file"
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
