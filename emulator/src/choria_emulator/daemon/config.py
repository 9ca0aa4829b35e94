"""Everything ``choria-emulator emulate`` was asked to build, named after the original flags."""

from __future__ import annotations

import os
import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..natsproto import ConnectOptions, ServerAddress
from ..natsproto.auth import Credentials
from ..natsproto.subjects import subject_error
from ..natsproto.tls import client_context

if TYPE_CHECKING:
    from .registry import Agent

BUILTIN_AGENTS = ("discovery", "rpcutil", "choria_util")
NAME_FORMATS = ("blog", "e3")
MAX_NAME = 200  # identities (NAME-i, or i-NAME-xxxxx.choria.local) end up in C.node.<identity>: a host name's length
_AGENT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")  # one token of C.broadcast.agent.<agent>
RECONNECT_MIN, RECONNECT_MAX = 0.25, 5.0  # seconds; backoff doubles from MIN up to MAX, with jitter


def max_workers() -> int:
    """More worker processes than this only cost memory (~25 MiB each): 4 per CPU, at least 64."""
    return max(64, 4 * (os.cpu_count() or 1))


def collective_names(count: int) -> list[str]:
    """``mcollective``, ``collective1``, …, ``collective{count-1}`` (protocol.md §1)."""
    return ["mcollective"] + [f"collective{i}" for i in range(1, count)]


def emulated_agent_names(count: int) -> list[str]:
    return [f"emulated{i}" for i in range(count)]


@dataclass
class TLSFiles:
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    verify: bool = False

    def context(self) -> ssl.SSLContext:
        """A client context; without ``verify`` the server certificate is not checked (like ``--tls`` alone)."""
        return client_context(self.ca, self.cert, self.key, self.verify)


@dataclass
class EmulatorConfig:
    instances: int
    name: str
    servers: list[ServerAddress]
    agents: int = 1
    collectives: int = 1
    http_port: int = 8080
    http_bind: str = "127.0.0.1"
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    tls: TLSFiles | None = None
    secure: bool = False
    ca: str | None = None
    allowed_callers: tuple[str, ...] | None = None  # None: go-choria's defaults (protocol.security)
    credentials: str | None = None
    facts: str | None = None
    audit: str | None = None
    registration_interval: float = 0.0
    registration_size: int = 1024
    stats_file: str | None = None
    stats_interval: float = 5.0
    name_format: str = "blog"
    connect_concurrency: int = 256
    start_index: int = 0
    loop: str = "auto"
    port_file: str | None = None
    plugins: tuple[Agent, ...] = ()  # agents served besides the built-in ones (daemon/registry.py)
    ddl: tuple[str, ...] = ()  # --ddl: where the plug-ins' DDLs came from (for /debug/vars)
    scenario: str | None = None  # --scenario file
    seed: int | None = None  # --seed (None: the scenario's own seed)
    lifecycle: bool = False  # --lifecycle: publish startup, alive and shutdown events
    lifecycle_interval: float = 3600.0
    lifecycle_format: str = "cloudevent"
    collective_names: tuple[str, ...] = ()  # from a server config (emulate -c); else mcollective, collective1 ...

    def __post_init__(self) -> None:
        if self.collective_names:
            self.collectives = len(self.collective_names)
            for collective in self.collective_names:
                error = subject_error("collective", collective, MAX_NAME)
                if error:
                    raise ValueError(error)
        if self.instances < 1:
            raise ValueError("--instances must be at least 1")
        if self.agents < 0 or self.collectives < 1:
            raise ValueError("--agents must be >= 0 and --collectives >= 1")
        if not self.servers:
            raise ValueError("at least one --server is needed")
        error = subject_error("--name", self.name, MAX_NAME)
        if error:
            raise ValueError(error)
        names = [*BUILTIN_AGENTS, *emulated_agent_names(self.agents)]
        for agent in self.plugins:
            if not _AGENT_NAME.match(agent.name) or agent.name in names:
                raise ValueError(f"agent name {agent.name!r} is taken or cannot be a NATS subject token")
            names.append(agent.name)
        if self.name_format not in NAME_FORMATS:
            raise ValueError(f"--name-format must be one of {', '.join(NAME_FORMATS)}")
        if self.start_index < 0:
            raise ValueError("--start-index must not be negative")
        if not 1 <= self.workers <= max_workers():
            raise ValueError(f"--workers must be between 1 and {max_workers()} (4 per CPU, at least 64)")
        if self.connect_concurrency < 1:
            raise ValueError("--connect-concurrency must be at least 1")
        if not -1 <= self.http_port <= 65535:
            raise ValueError(f"--http-port {self.http_port}: use 1-65535, 0 for any free port, -1 for none")
        if self.registration_interval < 0 or self.registration_size < 0:
            raise ValueError("--registration-interval and --registration-size must not be negative")
        if self.stats_interval <= 0:
            raise ValueError("--stats-interval must be positive")
        if not self.lifecycle_interval > 0 or self.lifecycle_interval == float("inf"):
            raise ValueError("--lifecycle-interval must be a positive number of seconds")
        if self.lifecycle_format not in ("cloudevent", "choria"):
            raise ValueError("--lifecycle-format must be cloudevent or choria")
        for flag, target in (
            ("--audit", self.audit),
            ("--stats-file", self.stats_file),
            ("--port-file", self.port_file),
        ):
            if target and not Path(target).parent.is_dir():
                raise ValueError(f"{flag}: directory {Path(target).parent} does not exist")
        if self.secure and not self.ca:
            raise ValueError("--secure needs --ca, the CA that signs client certificates")
        files = {"--facts": self.facts, "--credentials": self.credentials, "--ca": self.ca}
        if self.tls is not None:
            files.update({"--tls-ca": self.tls.ca, "--tls-cert": self.tls.cert, "--tls-key": self.tls.key})
        for flag, path in files.items():
            if path and not Path(path).is_file():
                raise ValueError(f"{flag}: file not found: {path}")
        if self.tls is not None and bool(self.tls.cert) != bool(self.tls.key):
            raise ValueError("--tls-cert and --tls-key go together")
        if self.secure and self.ca:
            from ..protocol.security import load_ca  # cryptography only when requests are signed

            try:
                load_ca(self.ca)
            except (OSError, ValueError) as exc:
                raise ValueError(f"--ca: {getattr(exc, 'strerror', None) or exc}") from None
        self.workers = max(1, min(self.workers, self.instances))

    @property
    def collective_list(self) -> list[str]:
        return list(self.collective_names) or collective_names(self.collectives)

    @property
    def agent_list(self) -> list[str]:
        return list(BUILTIN_AGENTS) + emulated_agent_names(self.agents) + [agent.name for agent in self.plugins]

    @property
    def subscriptions_per_instance(self) -> int:
        return self.collectives * (1 + len(self.agent_list))

    def identity(self, index: int, suffix: str = "") -> str:
        """``NAME-i`` (i from 0, the blog's form) or E3's ``i-NAME-suffix.choria.local`` (i from 1)."""
        if self.name_format == "e3":
            return f"{index + 1}-{self.name}-{suffix}.choria.local"
        return f"{self.name}-{index}"

    def connect_options(self) -> ConnectOptions:
        return ConnectOptions(
            tls=self.tls.context() if self.tls else None,
            credentials=Credentials.load(self.credentials) if self.credentials else None,
        )

    def worker_slices(self) -> list[range]:
        """Split instance indexes into contiguous, near-equal ranges, one per worker."""
        base, extra = divmod(self.instances, self.workers)
        slices, start = [], self.start_index
        for w in range(self.workers):
            size = base + (1 if w < extra else 0)
            slices.append(range(start, start + size))
            start += size
        return slices
