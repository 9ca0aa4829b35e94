"""Compound filters: go-choria's expr-lang expressions over ``classes``, ``agents``, ``facts``.

Placeholder evaluation until the expression language lands; see docs/filters.md.
"""

from __future__ import annotations

from typing import Any


def match_compound(queries: list[list[dict[str, str]]], node: Any) -> bool:
    return False
