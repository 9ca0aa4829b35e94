"""The one error a scenario file can raise: its message names the file and the field."""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario that cannot run as written (``FILE: agents.puppet.actions.status.reply.x: ...``)."""
