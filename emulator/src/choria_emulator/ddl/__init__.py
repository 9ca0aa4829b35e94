"""Agent DDLs shipped with the emulator (copied from go-choria and choria-emulator)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

# The discovery agent has no JSON DDL upstream; go-choria registers it with this metadata.
DISCOVERY_METADATA = {
    "name": "discovery",
    "description": "Discovery Agent",
    "author": "R.I.Pienaar <rip@devco.net>",
    "license": "Apache-2.0",
    "version": "0.29.4",
    "url": "https://choria.io",
    "timeout": 2,
}


@cache
def load(agent: str) -> dict[str, Any]:
    """The DDL of ``agent``; every ``emulatedN`` shares emulated0's, renamed."""
    if agent == "discovery":
        return {"metadata": dict(DISCOVERY_METADATA), "actions": []}
    source = "emulated0" if agent.startswith("emulated") else agent
    data = json.loads(resources.files(__package__).joinpath(f"{source}.json").read_text())
    data["metadata"]["name"] = agent
    return data


def metadata(agent: str) -> dict[str, Any]:
    return dict(load(agent)["metadata"])
