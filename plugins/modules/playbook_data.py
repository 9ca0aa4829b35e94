#!/usr/bin/python
# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: playbook_data
short_description: Write, delete and lock items of Choria playbook data stores
version_added: 0.1.0
description:
  - Acts on the data stores of a Choria YAML playbook (C(file), C(shell), C(etcd), C(nats_kv), C(environment)) the way
    the playbook's C(data) task, C(save) inputs and C(locks) do. Read items with the
    P(chorialab.choria.playbook_data#lookup) lookup.
  - Converted playbooks (C(choria-emulator playbook convert)) use it; locks are owned by O(owner), so a lock taken by
    one task is released by another task of the same run.
author:
  - chorialab (@chorialab)
extends_documentation_fragment:
  - chorialab.choria.attributes
attributes:
  check_mode:
    support: none
  diff_mode:
    support: none
  idempotent:
    support: partial
    details:
      - Writing the value a key already has writes it again and reports a change.
options:
  op:
    description: C(write) or C(delete) O(path); C(lock) or C(release) the lock at O(path); C(prepare) only checks the
      stores.
    type: str
    required: true
    choices: [write, delete, lock, release, prepare]
  path:
    description: C(store/key).
    type: str
  value:
    description: Value to write.
    type: raw
  stores:
    description: The playbook's C(data_stores) mapping.
    type: dict
    required: true
  owner:
    description: Id of the run that holds locks (the same for every task of one run).
    type: str
  playbook:
    description: Playbook name, recorded in lock values.
    type: str
  servers:
    description:
      - NATS servers for C(nats_kv) stores that do not name their own.
      - Without it, the servers of the Choria client configuration (O(config_file), else E(CHORIA_CONFIG), else
        C(~/.choriarc), else C(/etc/choria/client.conf)), else C(127.0.0.1:4222), as a playbook run uses its broker.
    type: list
    elements: str
  config_file:
    description: A Choria client configuration file to take the servers from (see O(servers)).
    type: path
"""

EXAMPLES = r"""
- name: Point the blue/green switch at bravo
  chorialab.choria.playbook_data:
    op: write
    path: pb_etcd/cluster
    value: bravo
    stores: "{{ choria_data_stores }}"

- name: Take the playbook lock
  chorialab.choria.playbook_data:
    op: lock
    path: pb_kv/choria/locks/playbook/app_upgrade
    owner: "{{ choria_run_id }}"
    stores: "{{ choria_data_stores }}"
"""

RETURN = r"""
msg:
  description: What was done, e.g. C(Wrote value to pb_etcd/cluster).
  returned: always
  type: str
value:
  description: The value written.
  returned: when O(op=write)
  type: raw
"""
