"""A converted playbook as data: what :mod:`.play` builds and :mod:`.writer` writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Conversion:
    """A converted playbook: the play's variables and tasks, its survey and header, and nested playbooks."""

    name: str
    variables: dict[str, Any]
    tasks: list[dict[str, Any]]
    survey: dict[str, Any]
    header: list[str]
    nested: dict[str, Conversion] = field(default_factory=dict)  # tasks file name -> its conversion

    def play(self, hosts: str = "localhost") -> dict[str, Any]:
        play: dict[str, Any] = {"name": self.name, "hosts": hosts}
        if hosts == "localhost":
            play["connection"] = "local"
        play.update(
            gather_facts=False,
            module_defaults=MODULE_DEFAULTS,
            vars=self.variables,
            tasks=self.tasks,
        )
        return play


MODULE_DEFAULTS = {
    "group/chorialab.choria.choria": {
        "servers": "{{ choria_servers | default(omit) }}",
        "config_file": "{{ choria_config_file | default(omit) }}",
    },
    "chorialab.choria.rpc": {
        "timeout": "{{ choria_rpc_timeout | default(omit) }}",
        "discovery_timeout": "{{ choria_discovery_timeout | default(omit) }}",
    },
    "chorialab.choria.playbook_data": {
        "servers": "{{ choria_servers | default(omit) }}",
        "config_file": "{{ choria_config_file | default(omit) }}",
    },
    "chorialab.choria.discover": {
        "timeout": "{{ choria_rpc_timeout | default(omit) }}",
        "discovery_timeout": "{{ choria_discovery_timeout | default(omit) }}",
    },
}
