# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""chorialab.choria.playbook_data: write, delete and lock Choria playbook data store items.

Documented in plugins/modules/playbook_data.py.
"""

from __future__ import annotations

from ansible_collections.chorialab.choria.plugins.plugin_utils.choria_actions import ChoriaAction


class ActionModule(ChoriaAction):
    _supports_check_mode = False
    ARGUMENT_SPEC = dict(
        op={"type": "str", "required": True, "choices": ["write", "delete", "lock", "release", "prepare"]},
        path={"type": "str"},
        value={"type": "raw"},
        stores={"type": "dict", "required": True},
        owner={"type": "str"},
        playbook={"type": "str"},
        servers={"type": "list", "elements": "str"},
        config_file={"type": "path"},
    )
    REQUIRED_IF = [
        ["op", "write", ["path", "value"]],
        ["op", "delete", ["path"]],
        ["op", "lock", ["path", "owner"]],
        ["op", "release", ["path", "owner"]],
    ]

    def call(self, actions, params, check_mode):
        return actions.data(params)
