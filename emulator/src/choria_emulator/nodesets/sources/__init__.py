"""Node sources by playbook ``type``: each validates its options when built and discovers on demand."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..context import NodeSetContext
from ..errors import NodeSetError
from .base import Source
from .mcollective import MCollectiveSource
from .pql import PQLSource
from .shell import ShellSource
from .terraform import TerraformSource
from .yaml_file import YAMLSource

__all__ = ["Source", "build_source", "source_types"]


def source_types() -> dict[str, type[Source]]:
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
