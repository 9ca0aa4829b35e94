"""Choria YAML playbooks (mcollective-choria 0.6.0 semantics) and their mapping onto Ansible.

``Playbook.load(path, RunOptions(...)).run(inputs)`` runs one natively and returns the report;
:mod:`.convert` writes the equivalent Ansible playbook. The spec is playbooks.md; decisions on
its quirks are in docs/playbooks.md.
"""

from .errors import PlaybookError, PlaybookInvalid
from .playbook import Playbook
from .report import summary
from .runtime import RunOptions

__all__ = ["Playbook", "PlaybookError", "PlaybookInvalid", "RunOptions", "summary"]
