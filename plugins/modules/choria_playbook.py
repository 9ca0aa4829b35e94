#!/usr/bin/python
# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: choria_playbook
short_description: Run a Choria YAML playbook natively and return its report
version_added: 0.1.0
description:
  - Runs a Choria (mcollective-choria 0.6.0) YAML playbook from the controller - inputs, data stores, locks, node sets,
    tasks and hooks exactly as C(mco playbook run) did - and returns the playbook report.
  - The task fails when the playbook fails; RV(msg) says why when it could not run to the end.
  - To turn a Choria playbook into Ansible tasks instead, use C(choria-emulator playbook convert).
author:
  - chorialab (@chorialab)
extends_documentation_fragment:
  - chorialab.choria.connection.controller
  - chorialab.choria.connection.files
  - chorialab.choria.attributes
  - chorialab.choria.attributes.actiongroup_choria
attributes:
  check_mode:
    support: partial
    details:
      - In check mode the playbook is only validated (structure, task, store and node set types, templates), not run.
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - Whatever the playbook's tasks do happens on every run.
options:
  playbook:
    description: Path of the Choria YAML playbook.
    type: path
    required: true
  inputs:
    description: Input values, name to value (what C(--name value) gives on the command line).
    type: dict
    default: {}
  loglevel:
    description: Override the playbook's C(loglevel).
    type: str
    choices: [debug, info, warn, error, fatal]
  timeout:
    description: Seconds to wait for RPC replies.
    type: float
    default: 10
  discovery_timeout:
    description: Seconds to wait for discovery replies.
    type: float
  slack_api:
    description: Base URL of the Slack Web API for C(slack) tasks (default C($CHORIA_SLACK_API) or U(https://slack.com/api)).
    type: str
  ddl_path:
    description: Directories with agent JSON DDLs for the playbook's C(uses) check.
    type: list
    elements: path
    default: []
  config_file:
    description: A Choria client configuration file to read before the connection options.
    type: path
seealso:
  - module: chorialab.choria.rpc
  - name: Choria playbooks as Ansible plays
    description: The playbook format, its quirks and how each construct maps onto Ansible.
    link: https://github.com/chorialab/choria/blob/main/docs/playbooks.md
"""

EXAMPLES = r"""
- name: Upgrade Acme the Choria way
  chorialab.choria.choria_playbook:
    playbook: playbooks/app_upgrade.yaml
    inputs:
      cluster: alpha
      target_version: 1.2.3
  register: upgrade

- name: What ran
  ansible.builtin.debug:
    msg: "{{ upgrade.report.tasks | map(attribute='description') | list }}"
"""

RETURN = r"""
success:
  description: Whether the playbook succeeded.
  returned: unless check mode
  type: bool
msg:
  description: The playbook error, or the outcome line of the summary.
  returned: always
  type: str
report:
  description:
    - The playbook report - C(report) (C(version), C(timestamp), C(success), C(playbook_error)), C(playbook), C(inputs)
      (C(static) values and C(dynamic) names), C(nodes), C(tasks), C(metrics) and C(logs). Times are ISO 8601 strings.
  returned: unless check mode
  type: dict
playbook:
  description: In check mode, the playbook's inputs, node sets, stores, locks and tasks.
  returned: check mode
  type: dict
"""
