"""Node sources by playbook ``type``: each validates its options when built and discovers on demand."""

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


def source_types() -> dict[str, type[Source]]:
    from .mcollective import MCollectiveSource
    from .pql import PQLSource
    from .shell import ShellSource
    from .terraform import TerraformSource
    from .yaml_file import YAMLSource

    return {cls.type: cls for cls in (MCollectiveSource, PQLSource, YAMLSource, ShellSource, TerraformSource)}


def build_source(name: str, spec: Mapping[str, Any], ctx: NodeSetContext) -> Source:
    """The source for ``spec['type']``; ``Cannot find a handler for Node Set type X`` otherwise."""
    if not isinstance(spec, Mapping):
        raise NodeSetError.in_set(name, f"a node set must be a mapping with a type, got {type(spec).__name__}")
    kind = spec.get("type")
    if kind is None:
        raise NodeSetError.in_set(name, f"option type is required (one of {', '.join(source_types())})")
    handler = source_types().get(str(kind))
    if handler is None:
        raise NodeSetError.in_set(name, f"Cannot find a handler for Node Set type {kind}")
    return handler(name, spec, ctx)
