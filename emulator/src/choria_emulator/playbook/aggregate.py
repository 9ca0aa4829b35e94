"""DDL aggregates for ``post: [summarize]`` (§2.2): MCollective's ``summary`` function.

``summary(field)`` counts how often each value of ``field`` occurs in successful replies (array
values count each element). The summaries of an action are merged into one mapping, and an
action whose DDL has no aggregates gives no summary, so the plain success message is used. Values
are listed in sorted order so the message does not depend on which node answered first.
"""

from __future__ import annotations

from typing import Any

from .. import ddl


def action_aggregates(agent: str, action: str) -> list[dict[str, Any]]:
    try:
        actions = ddl.load(agent)["actions"]
    except (FileNotFoundError, KeyError, ValueError):
        return []
    for entry in actions:
        if entry.get("action") == action:
            return list(entry.get("aggregate") or [])
    return []


def summarize(agent: str, action: str, replies: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for aggregate in action_aggregates(agent, action):
        if aggregate.get("function") != "summary" or not aggregate.get("args"):
            continue
        field = aggregate["args"][0]
        counts: dict[str, int] = {}
        for reply in replies:
            if reply.get("statuscode") != 0 or not isinstance(reply.get("data"), dict) or field not in reply["data"]:
                continue
            value = reply["data"][field]
            for item in value if isinstance(value, list) else [value]:
                key = item if isinstance(item, str) else _text(item)
                counts[key] = counts.get(key, 0) + 1
        merged.update(sorted(counts.items()))
    return merged


def _text(value: Any) -> str:
    from .rubyfmt import to_s

    return to_s(value)
