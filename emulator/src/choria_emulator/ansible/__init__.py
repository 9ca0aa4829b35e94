"""What the collection's Ansible plugins do, so the plugins stay thin adapters (docs/playbooks.md).

Each function takes a plugin's validated parameters and returns the task result; errors that
should fail the task are :class:`ActionError` (one line). The playbook engine's own classes do
the work, so a converted playbook and a native run share one implementation of every semantic.

* :func:`rpc` - ``chorialab.choria.rpc``; :func:`discover` - ``chorialab.choria.discover``;
* :func:`run_playbook` - ``chorialab.choria.choria_playbook``;
* :func:`data` and :func:`read_input` - the ``chorialab.choria.playbook_data`` action and lookup;
* :func:`resolve_input` and :func:`check_inputs` - the ``chorialab.choria.playbook_input`` lookup;
* :func:`previous_task`, :func:`as_text` and :func:`is_abort` - the filters and test converted plays use;
* :func:`client_config` - the one resolution of the connection settings they all use.
"""

from __future__ import annotations

from ..playbook.tasks.webhook import query_string
from ..playbook.templates import stringify as as_text
from .aborts import is_abort
from .data import data, read_input
from .discovery import discover
from .errors import ActionError
from .inputs import PlayInputs, check_inputs, resolve_input, static_values, supplied_name, to_save
from .playbook import run_playbook
from .previous import previous_task
from .rpc import READ_ONLY_AGENTS, rpc
from .settings import CONNECTION_KEYS, client_config

__all__ = [
    "CONNECTION_KEYS",
    "READ_ONLY_AGENTS",
    "ActionError",
    "PlayInputs",
    "as_text",
    "check_inputs",
    "client_config",
    "data",
    "discover",
    "is_abort",
    "previous_task",
    "query_string",
    "read_input",
    "resolve_input",
    "rpc",
    "run_playbook",
    "static_values",
    "supplied_name",
    "to_save",
]
