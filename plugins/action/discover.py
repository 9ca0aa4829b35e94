# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""chorialab.choria.discover: Choria discovery and node sets from the controller.

Documented in plugins/modules/discover.py.
"""

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
            node_sets={"type": "dict"},
            uses={"type": "dict", "default": {}},
            ddl_path={"type": "list", "elements": "path", "default": []},
            timeout={"type": "float", "default": 10},
        )
    )
    MUTUALLY_EXCLUSIVE = [
        ["node_sets", "identities"],
        ["node_sets", "facts"],
        ["node_sets", "classes"],
        ["node_sets", "compound"],
        ["node_sets", "agents"],
    ]

    def call(self, actions, params, check_mode):
        return actions.discover(params)
