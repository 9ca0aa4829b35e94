"""Playbook logging as §3.5: a console line per message and every line kept for the report.

Console: ``<L> HH:MM:SS: <playbook name>#<context padded to 25> <msg>`` on stderr. The report
gets ``{time, level, from, msg}`` for every line that passed the level filter. Messages from
outside the engine (the Choria client, node-set sources) are demoted to debug unless the level
is ``debug``, as upstream does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, TextIO

LEVELS = ("debug", "info", "warn", "error", "fatal")


@dataclass
class LogEntry:
    time: datetime
    level: str
    source: str
    msg: str

    def to_dict(self) -> dict[str, object]:
        return {"time": self.time, "level": self.level, "from": self.source, "msg": self.msg}


class PlaybookLogger:
    """The engine's logger; ``context`` names what the engine is doing (``prep.nodes``, ``tasks`` ...)."""

    def __init__(
        self,
        name: Callable[[], str | None],
        level: str = "info",
        stream: TextIO | None = None,
        sink: Callable[[LogEntry], None] | None = None,
    ):
        self._name = name
        self.level = level
        self.stream = stream  # None: no console output (Ansible, tests); the report keeps every line
        self.sink = sink
        self.context = "loading"
        self.entries: list[LogEntry] = []

    @contextmanager
    def in_context(self, context: str) -> Iterator[None]:
        old, self.context = self.context, context
        try:
            yield
        finally:
            self.context = old

    def enabled(self, level: str) -> bool:
        return LEVELS.index(level) >= LEVELS.index(self.level)

    def log(self, level: str, msg: str, external: bool = False) -> None:
        if external and self.level != "debug":
            level = "debug"
        if not self.enabled(level):
            return
        now = datetime.now(timezone.utc)
        source = f"{self._name() or ''}#{self.context}"
        entry = LogEntry(now, level, source, msg)
        self.entries.append(entry)
        if self.sink is not None:
            self.sink(entry)
        if self.stream is not None:
            local = now.astimezone().strftime("%H:%M:%S")
            self.stream.write(f"{level[0].upper()} {local}: {self._name() or ''}#{self.context:<25} {msg}\n")
            self.stream.flush()

    def debug(self, msg: str) -> None:
        self.log("debug", msg)

    def info(self, msg: str) -> None:
        self.log("info", msg)

    def warn(self, msg: str) -> None:
        self.log("warn", msg)

    def error(self, msg: str) -> None:
        self.log("error", msg)

    def fatal(self, msg: str) -> None:
        self.log("fatal", msg)

    def external(self, level: str, msg: str) -> None:
        """A line from library code outside the engine (demoted to debug unless debugging)."""
        self.log(level if level in LEVELS else "info", msg, external=True)


class LoggingBridge:
    """``logging.Logger``-style calls (``info("%d nodes", n)``) forwarded to ``emit(level, msg)``.

    Library code that logs through a Logger (node-set resolution) reports into a playbook's log
    or a task result this way.
    """

    def __init__(self, emit: Callable[[str, str], None]):
        self._emit = emit

    def _log(self, level: str, msg: str, args: tuple[object, ...]) -> None:
        self._emit(level, msg % args if args else msg)

    def debug(self, msg: str, *args: object, **_: object) -> None:
        self._log("debug", msg, args)

    def info(self, msg: str, *args: object, **_: object) -> None:
        self._log("info", msg, args)

    def warning(self, msg: str, *args: object, **_: object) -> None:
        self._log("warn", msg, args)

    warn = warning

    def error(self, msg: str, *args: object, **_: object) -> None:
        self._log("error", msg, args)

    def isEnabledFor(self, level: int) -> bool:  # logging.Logger's name
        return True
