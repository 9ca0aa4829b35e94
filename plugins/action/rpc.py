# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""chorialab.choria.rpc: a Choria RPC request from the controller (documented in plugins/modules/rpc.py)."""

from __future__ import annotations

from ansible_collections.chorialab.choria.plugins.plugin_utils.choria_actions import (
    FILTER_SPEC,
    ChoriaAction,
    with_connection,
)


class ActionModule(ChoriaAction):
    ARGUMENT_SPEC = with_connection(
        dict(
            FILTER_SPEC,
            agent={"type": "str", "required": True},
            action={"type": "str", "required": True},
            arguments={"type": "dict", "default": {}, "aliases": ["properties", "inputs"]},
            nodes={"type": "list", "elements": "str"},
            node_set={"type": "dict"},
            batch_size={"type": "int"},
            batch_sleep_time={"type": "float"},
            tries={"type": "int", "default": 1},
            try_sleep={"type": "float", "default": 10},
            pre_sleep={"type": "float"},
            timeout={"type": "float", "default": 10},
            summarize={"type": "bool", "default": False},
            silent={"type": "bool", "default": False},
            description={"type": "str"},
            expression={"type": "list", "elements": "raw"},
            **{"assert": {"type": "str"}},
        )
    )
    MUTUALLY_EXCLUSIVE = [["nodes", "node_set"], ["assert", "expression"]]

    def call(self, actions, params, check_mode):
        return actions.rpc(params, check_mode=check_mode)
