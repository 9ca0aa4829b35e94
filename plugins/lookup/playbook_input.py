# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: playbook_input
short_description: The value of a Choria playbook input in a converted play, resolved as Choria does
version_added: 0.2.0
author:
  - chorialab (@chorialab)
description:
  - Used by plays that C(choria-emulator playbook convert) writes. The play declares the Choria playbook's inputs in
    the variable C(choria_inputs); a value is given as the extra variable C(input_<name>) (C(-e), an AWX survey).
  - Returns the given value (a string gets the input's type), else the value in the input's data store (read again on
    every use, validated, as a dynamic input is), else its default; an input with none of these is an error naming it.
  - With O(check=true) it returns instead the message of Choria's input checks for the given values (validation, then
    C(required)), or an empty string when they pass.
  - A nested playbook (the C(playbook) task) gets its given values as the mapping C(choria_supplied) instead, so the
    outer play's extra variables do not reach it.
  - Data stores are the play's C(choria_data_stores); C(memory) and C(environment) stores read the play's
    C(choria_memory) and C(choria_environment) facts (the environment store falls back to the controller's environment).
options:
  _terms:
    description: Input names.
    required: false
    type: list
    elements: str
  check:
    description: Return the result of the input checks instead of values.
    type: bool
    default: false
  save:
    description:
      - Return for each input whether it is written to its data store before the run (C(save)), which Choria does when
        a value was given and it is not C(false).
    type: bool
    default: false
  static:
    description:
      - Return one mapping of every static input's value (given values and defaults), what a nested C(playbook) task
        passes on when it names no inputs of its own.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The cluster to deploy
  ansible.builtin.debug:
    msg: "{{ lookup('chorialab.choria.playbook_input', 'cluster') }}"
"""

RETURN = r"""
_raw:
  description: The value of each input (or the check's message).
  type: list
  elements: raw
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.chorialab.choria.plugins.plugin_utils.choria import import_choria_module


class LookupModule(LookupBase):
    def _var(self, variables, name, default=None):
        if name not in variables:
            return default
        return self._templar.template(variables[name])

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        choria = import_choria_module("ansible")
        errors = import_choria_module("playbook.errors")
        declarations = self._var(variables, "choria_inputs", {}) or {}
        if "choria_supplied" in variables:
            supplied = dict(self._var(variables, "choria_supplied") or {})
        else:
            supplied = {}
            for name in declarations:
                var = choria.supplied_name(name)
                if var in variables:
                    supplied[name] = self._var(variables, var)
        play = choria.PlayInputs(
            declarations=declarations,
            supplied=supplied,
            stores=self._var(variables, "choria_data_stores", {}) or {},
            memory=self._var(variables, "choria_memory", {}) or {},
            environment=self._var(variables, "choria_environment", {}) or {},
            connection={
                "servers": self._var(variables, "choria_servers"),
                "config_file": self._var(variables, "choria_config_file"),
            },
        )
        if self.get_option("check"):
            return [choria.check_inputs(play)]
        if self.get_option("static"):
            return [choria.static_values(play)]
        resolve = choria.to_save if self.get_option("save") else choria.resolve_input
        values = []
        for term in terms:
            try:
                values.append(resolve(play, term))
            except errors.PlaybookError as exc:
                raise AnsibleLookupError(str(exc)) from None
        return values
