# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What the controller-side Choria actions share: argument checking and calling the library.

Each action plugin is an argument spec plus one call into ``choria_emulator.ansible``;
this module validates the arguments with Ansible's own checker, imports the library through
the one guarded import, and turns the library's one-line errors into failed task results.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.chorialab.choria.plugins.module_utils.connection import connection_argument_spec
from ansible_collections.chorialab.choria.plugins.plugin_utils.choria import import_choria_module

# The discovery filters of chorialab.choria.rpc and chorialab.choria.discover (the discovery doc fragment;
# tests/ansible/test_reference.py holds each action's ARGUMENT_SPEC equal to what its module documents).
FILTER_SPEC = {
    "identities": {"type": "list", "elements": "str"},
    "agents": {"type": "list", "elements": "str"},
    "facts": {"type": "list", "elements": "str"},
    "classes": {"type": "list", "elements": "str"},
    "compound": {"type": "str"},
    "collective": {"type": "str"},
    "discovery_method": {"type": "str", "choices": ["mc", "broadcast", "choria", "puppetdb"]},
    "discovery_timeout": {"type": "float"},
    "puppetdb": {"type": "dict"},
}


def with_connection(spec):
    """``spec`` plus the connection options every member of the action group takes (doc fragment
    ``chorialab.choria.connection.controller``): no defaults for the broker and TLS, so what a task does
    not say comes from the user's Choria configuration, resolved by ``choria_emulator.ansible``."""
    merged = connection_argument_spec()
    for name in ("servers", "tls", "tls_verify"):
        merged[name].pop("default", None)
    merged["config_file"] = {"type": "path"}
    merged.update(spec)
    return merged


class ChoriaAction(ActionBase):
    """Run one ``choria_emulator.ansible`` function with validated arguments."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    ARGUMENT_SPEC = {}
    MUTUALLY_EXCLUSIVE = []
    REQUIRED_IF = []

    def call(self, actions, params, check_mode):
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, params = self.validate_argument_spec(
            argument_spec=self.ARGUMENT_SPEC, mutually_exclusive=self.MUTUALLY_EXCLUSIVE, required_if=self.REQUIRED_IF
        )
        actions = import_choria_module("ansible")
        try:
            result.update(self.call(actions, params, bool(self._task.check_mode)))
        except actions.ActionError as exc:
            raise AnsibleActionFail(str(exc)) from exc
        except (ValueError, OSError) as exc:  # ClientConfigError and file problems: one line, no traceback
            raise AnsibleActionFail("%s: %s" % (type(exc).__name__, exc)) from exc
        return result
