# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""chorialab.choria.choria_playbook: run a Choria YAML playbook natively.

Documented in plugins/modules/choria_playbook.py.
"""

from __future__ import annotations

from ansible_collections.chorialab.choria.plugins.plugin_utils.choria_actions import ChoriaAction, with_connection


class ActionModule(ChoriaAction):
    ARGUMENT_SPEC = with_connection(
        dict(
            playbook={"type": "path", "required": True},
            inputs={"type": "dict", "default": {}},
            loglevel={"type": "str", "choices": ["debug", "info", "warn", "error", "fatal"]},
            timeout={"type": "float", "default": 10},
            discovery_timeout={"type": "float"},
            slack_api={"type": "str"},
            ddl_path={"type": "list", "elements": "path", "default": []},
        )
    )

    def call(self, actions, params, check_mode):
        return actions.run_playbook(params, check_mode=check_mode)
