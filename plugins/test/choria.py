# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Tests for plays that ``choria-emulator playbook convert`` writes (documented in the .yml file beside this)."""

from __future__ import annotations

from ansible_collections.chorialab.choria.plugins.plugin_utils.choria import import_choria_module


def playbook_abort(result):
    """The failed task's result is one of Choria 0.6.0's run-time aborts."""
    return import_choria_module("ansible").is_abort(result)


class TestModule:
    def tests(self):
        return {"playbook_abort": playbook_abort}
