# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: playbook_data
short_description: Read a Choria playbook data store item, as a data-bound input does
version_added: 0.1.0
author:
  - chorialab (@chorialab)
description:
  - Reads C(store/key) from one of the data stores of a Choria YAML playbook (C(file), C(shell), C(etcd), C(nats_kv),
    C(environment)), validates it like the input would and falls back to the input's O(default).
  - Used by playbooks that C(choria-emulator playbook convert) writes, where a dynamic input is a variable whose value
    is this lookup, so it is read again every time it is used.
options:
  _terms:
    description: Data store paths, C(store/key).
    required: true
    type: list
    elements: str
  stores:
    description: The playbook's C(data_stores) mapping (store name to its options).
    type: dict
    required: true
  input:
    description: Name of the input, for error messages.
    type: str
  validation:
    description: The input's C(validation) (C(:shellsafe), C(/regex/), a list ...); a value that fails it is not used.
    type: raw
  default:
    description: Returned when the key cannot be read or does not validate. Without it, that is an error.
    type: raw
"""

EXAMPLES = r"""
- name: The cluster the blue/green switch points at
  ansible.builtin.debug:
    msg: "{{ lookup('chorialab.choria.playbook_data', 'pb_etcd/cluster', stores=choria_data_stores, default='alpha') }}"
"""

RETURN = r"""
_raw:
  description: The value of each path.
  type: list
  elements: raw
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.chorialab.choria.plugins.plugin_utils.choria import import_choria_module

_NO_DEFAULT = object()


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        actions = import_choria_module("ansible")
        errors = import_choria_module("playbook.errors")
        params = {
            "stores": self.get_option("stores"),
            "input": self.get_option("input"),
            "validation": self.get_option("validation"),
        }
        if "default" in kwargs:
            params["default"] = kwargs["default"]
        values = []
        for term in terms:
            try:
                values.append(actions.read_input(term, params))
            except errors.PlaybookError as exc:
                raise AnsibleLookupError(str(exc)) from exc
        return values
