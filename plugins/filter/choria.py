# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters for plays that ``choria-emulator playbook convert`` writes (documented in the .yml files beside this)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.chorialab.choria.plugins.plugin_utils.choria import import_choria_module


def previous_task(result, item, meta=None):
    """Choria's ``previous_task.<item>`` from the registered result of the task ``meta`` describes."""
    try:
        return import_choria_module("ansible").previous_task(result, item, meta)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


def choria_text(value):
    """A value as a Choria template puts it into text (lists joined with ', ', mappings as JSON)."""
    return import_choria_module("ansible").as_text(value)


def choria_query(data):
    """A mapping as the query string of a Choria GET webhook (Ruby's CGI.escape of keys and values)."""
    return import_choria_module("ansible").query_string(data)


class FilterModule:
    def filters(self):
        return {"previous_task": previous_task, "choria_text": choria_text, "choria_query": choria_query}
