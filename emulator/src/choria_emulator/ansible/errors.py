"""The one error the plugins turn into a failed task."""

from __future__ import annotations


class ActionError(Exception):
    """The task fails with this one-line message."""
