"""``choria-emulator playbook convert``: a Choria YAML playbook as an Ansible playbook (docs/playbooks.md).

The converted play runs on the controller (``hosts: localhost``) and does what ``mco playbook
run`` did, with Ansible's own constructs wherever they express the semantic: inputs are
``input_<name>`` extra variables read through ``inputs.<name>`` (and an AWX survey with
``--survey``), node sets come from one ``chorialab.choria.discover`` task (then ``add_host``
groups), the task lists and hooks are ``block``/``rescue``/``always`` in the order of
playbooks.md §3.2, ``mcollective`` tasks are ``chorialab.choria.rpc``, ``shell`` is ``shell``,
``webhook``/``slack``/``graphite_event`` are ``uri``, templates are Jinja2. Where Ansible cannot
say exactly what Choria did, a comment in the output says so.

The steps live in :mod:`.play` (the play), :mod:`.setup` (preparation), :mod:`.flow` (task sets
and hooks), :mod:`.tasks` (one task), :mod:`.inputs`, :mod:`.jinja`, :mod:`.names`,
:mod:`.nested` (the ``playbook`` task) and :mod:`.writer` (YAML and files).
"""

from __future__ import annotations

from .jinja import ConvertError
from .model import Conversion
from .play import convert, convert_playbook
from .writer import convert_file, dump

__all__ = ["Conversion", "ConvertError", "convert", "convert_file", "convert_playbook", "dump"]
