"""What every node source shares: option checking, errors naming the set, user paths."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from ..context import Discovered, NodeSetContext
from ..errors import NodeSetError, Options

COMMON_OPTIONS = frozenset({"type", "at_least", "when_empty", "limit", "test", "uses", "empty_ok"})


class Source:
    """One node set's source. Subclasses read their options in ``configure`` and find nodes in ``discover``."""

    type: ClassVar[str]
    options: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, name: str, spec: Mapping[str, Any], ctx: NodeSetContext):
        self.name = name
        self.ctx = ctx
        self.opts = Options(name, spec)
        self.opts.reject_unknown(set(COMMON_OPTIONS | self.options))
        self.configure()

    def configure(self) -> None:
        """Validate and keep the options (upstream ``validate_configuration!``)."""

    def discover(self) -> Discovered:
        raise NotImplementedError

    @property
    def empty_handled(self) -> bool:
        """True when ``when_empty``/``empty_ok`` say what an empty result means.

        Upstream, ``yaml`` and ``shell`` sources reject an empty result while loading, so the
        set's ``when_empty``/``empty_ok`` never apply to them; we keep that error only for sets
        that do not say what empty means.
        """
        return "when_empty" in self.opts.spec or self.opts.boolean("empty_ok")

    def error(self, reason: str) -> NodeSetError:
        return NodeSetError.in_set(self.name, reason)

    def path(self, value: str) -> Path:
        """A user path: ``~`` expanded, relative ones from the context's base directory."""
        path = Path(value).expanduser()
        if not path.is_absolute() and self.ctx.base_dir:
            path = Path(self.ctx.base_dir) / path
        return path
