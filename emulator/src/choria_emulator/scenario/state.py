"""Per-node state variables in flat per-worker arrays: a few bytes per node per variable.

A worker with 20,000 nodes and six variables holds six ``array`` objects, not 20,000 dicts:
booleans take 1 byte a node, integers and floats 8, strings 4 (an index into the worker's
table of distinct strings, which stays small because nodes share values such as a version).
"""

from __future__ import annotations

from array import array
from typing import Any

from ..ddl.agent import coerce
from .expr import render_text

TYPECODES = {"boolean": "b", "integer": "q", "float": "d", "string": "I"}
MAX_STRING = 4096  # characters a string variable keeps: requests cannot grow a node's state without end
COMPACT_AT = 65536  # distinct strings before the table drops the ones no node holds any more
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def convert(kind: str, value: Any) -> Any:
    """``value`` as a state variable of type ``kind`` (the type's zero value when it does not fit)."""
    if kind == "string":
        return render_text(value)[:MAX_STRING]
    fits, converted = coerce(kind, value)
    if kind == "integer":
        return min(_INT_MAX, max(_INT_MIN, converted)) if fits else 0
    if kind == "float":
        return float(converted) if fits else 0.0
    return converted


class StateTable:
    """The state of one worker's nodes: ``table.get(slot, "enabled")``, ``table.set(slot, "enabled", False)``."""

    __slots__ = ("size", "types", "arrays", "strings", "string_ids", "readers", "generation")

    def __init__(self, types: dict[str, str], size: int):
        self.size = size
        self.types = dict(types)
        self.generation = 0  # bumped when string indexes are renumbered (cached keys of raw values expire)
        self.strings: list[str] = [""]
        self.string_ids: dict[str, int] = {"": 0}
        self.arrays: dict[str, array] = {}
        for name, kind in self.types.items():
            code = TYPECODES[kind]
            self.arrays[name] = array(code, bytes(array(code).itemsize * size))
        self.readers: dict[str, Any] = {}
        self._make_readers()

    def _make_readers(self) -> None:
        """``readers[name](slot)``: a variable's typed value in one call (what expressions read)."""
        strings = self.strings
        for name, kind in self.types.items():
            values = self.arrays[name]
            if kind == "boolean":
                self.readers[name] = lambda slot, values=values: values[slot] != 0
            elif kind == "string":
                self.readers[name] = lambda slot, values=values: strings[values[slot]]
            else:
                self.readers[name] = values.__getitem__

    def _intern(self, text: str) -> int:
        index = self.string_ids.get(text)
        if index is None:
            if len(self.strings) >= COMPACT_AT:
                self._compact()
            index = self.string_ids[text] = len(self.strings)
            self.strings.append(text)
        return index

    def _compact(self) -> None:
        """Keep only the strings some node holds (values replaced over time would pile up otherwise)."""
        used = {0}
        string_vars = [name for name, kind in self.types.items() if kind == "string"]
        for name in string_vars:
            used.update(self.arrays[name])
        self.generation += 1
        old = list(self.strings)
        renumber = {index: new for new, index in enumerate(sorted(used))}
        self.strings[:] = [old[index] for index in sorted(used)]  # in place: the readers hold this list
        self.string_ids = {text: index for index, text in enumerate(self.strings)}
        for name in string_vars:
            values = self.arrays[name]
            for slot, index in enumerate(values):
                values[slot] = renumber[index]

    def get(self, slot: int, name: str) -> Any:
        value = self.arrays[name][slot]
        kind = self.types[name]
        if kind == "boolean":
            return bool(value)
        if kind == "string":
            return self.strings[value]
        return value

    def set(self, slot: int, name: str, value: Any) -> None:
        kind = self.types[name]
        value = convert(kind, value)
        if kind == "string":
            value = self._intern(value)
        elif kind == "boolean":
            value = 1 if value else 0
        self.arrays[name][slot] = value

    def fill(self, name: str, value: Any) -> None:
        """Every node's ``name`` set to one value (the common case of a constant default)."""
        kind = self.types[name]
        value = convert(kind, value)
        if kind == "string":
            value = self._intern(value)
        elif kind == "boolean":
            value = 1 if value else 0
        code = TYPECODES[kind]
        self.arrays[name] = array(code, [value]) * self.size
        self._make_readers()

    def node(self, slot: int) -> dict[str, Any]:
        """Every variable of one node (for debugging and tests)."""
        return {name: self.get(slot, name) for name in self.types}

    def key(self, slot: int, names: tuple[str, ...]) -> tuple[Any, ...]:
        """The raw stored values of ``names``: equal keys mean equal state (a cache key)."""
        arrays = self.arrays
        return tuple(arrays[name][slot] for name in names)

    @property
    def nbytes(self) -> int:
        return sum(a.itemsize * len(a) for a in self.arrays.values())


class StateView:
    """``state`` inside an expression: ``state.enabled`` reads the node's value."""

    __slots__ = ("table", "slot")

    def __init__(self, table: StateTable, slot: int):
        self.table = table
        self.slot = slot

    def __getitem__(self, name: str) -> Any:
        return self.table.readers[name](self.slot)  # KeyError for an unknown name

    def __len__(self) -> int:
        return len(self.table.types)
