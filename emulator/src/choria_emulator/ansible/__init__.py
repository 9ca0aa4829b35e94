"""What the collection's Ansible plugins do, so the plugins stay thin adapters (docs/playbooks.md).

Each function takes a plugin's validated parameters and returns the task result; errors that
should fail the task are :class:`ActionError` (one line). The playbook engine's own classes do
the work, so a converted playbook and a native run share one implementation of every semantic.

* :func:`rpc` - ``chorialab.choria.rpc``; :func:`discover` - ``chorialab.choria.discover``;
* :func:`run_playbook` - ``chorialab.choria.choria_playbook``;
* :func:`data` and :func:`read_input` - the ``chorialab.choria.playbook_data`` action and lookup;
* :func:`client_config` - the one resolution of the connection settings they all use.
"""

from __future__ import annotations

from .data import data, read_input
from .discovery import discover
from .errors import ActionError
from .playbook import run_playbook
from .rpc import READ_ONLY_AGENTS, rpc
from .settings import CONNECTION_KEYS, client_config

__all__ = [
    "CONNECTION_KEYS",
    "READ_ONLY_AGENTS",
    "ActionError",
    "client_config",
    "data",
    "discover",
    "read_input",
    "rpc",
    "run_playbook",
]
