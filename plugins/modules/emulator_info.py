#!/usr/bin/python
# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: emulator_info
short_description: Status of a choria-emulator process, like the original emulator_status action
version_added: 0.1.0
description:
  - Reports whether an emulator started by M(chorialab.choria.emulator) runs, and what its C(/debug/vars)
    endpoint says - name, PID, TLS, memory, instances, connected instances and request counters.
  - Finds the emulator by O(name) (its PID and port files in O(state_dir)), or like the original
    C(emulator_status) action by asking C(/debug/vars) on O(monitor_port). Changes nothing.
author:
  - chorialab (@chorialab)
extends_documentation_fragment:
  - chorialab.choria.attributes
  - chorialab.choria.attributes.info_module
options:
  name:
    description: Name the emulator was started with (default the short host name, as for M(chorialab.choria.emulator)).
    type: str
  monitor_port:
    description: C(/debug/vars) port to ask when no PID file is found (the original C(port) input).
    type: int
    default: 8080
  monitor_bind:
    description: Address of the C(/debug/vars) endpoint.
    type: str
    default: 127.0.0.1
  state_dir:
    description: Directory of the emulator's PID and port files.
    type: path
    default: /tmp/choria-emulator
  pid_file:
    description: Its PID file, if not the default.
    type: path
seealso:
  - module: chorialab.choria.emulator
"""

EXAMPLES = r"""
- name: The seed's emulator_status
  chorialab.choria.emulator_info:
    name: "{{ inventory_hostname }}"
  register: emulator

- name: Every instance is connected
  ansible.builtin.assert:
    that: emulator.running and emulator.connected == emulator.instances
"""

RETURN = r"""
running:
  description: Whether the emulator runs.
  returned: always
  type: bool
pid:
  description: PID of the emulator's supervisor process.
  returned: always
  type: int
name:
  description: Instance name prefix.
  returned: always
  type: str
tls:
  description: Whether the instances connect with TLS.
  returned: when running
  type: bool
tls_verify:
  description: Whether they verify the broker's certificate.
  returned: when running
  type: bool
memory:
  description: Resident memory of the emulator and its workers in bytes.
  returned: when running
  type: int
instances:
  description: Instances configured.
  returned: when running
  type: int
connected:
  description: Instances connected to NATS.
  returned: when running
  type: int
agents:
  description: C(emulatedN) agents per instance.
  returned: when running
  type: int
collectives:
  description: Collectives per instance.
  returned: when running
  type: int
counters:
  description: Request and reply counters summed over all instances.
  returned: when running
  type: dict
workers:
  description: Worker processes.
  returned: when running
  type: int
servers:
  description: NATS servers the instances use.
  returned: when running
  type: list
  elements: str
monitor_url:
  description: Base URL of C(/debug/vars).
  returned: when running
  type: str
uptime:
  description: Seconds since the emulator started.
  returned: when running
  type: float
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.chorialab.choria.plugins.module_utils.emulator import (
    debug_vars,
    default_files,
    default_name,
    locate,
    status,
)
from ansible_collections.chorialab.choria.plugins.module_utils.monitor import MonitorError


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str"),
            monitor_port=dict(type="int", default=8080),
            monitor_bind=dict(type="str", default="127.0.0.1"),
            state_dir=dict(type="path", default="/tmp/choria-emulator"),
            pid_file=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    params["name"] = params["name"] or default_name()
    result: dict[str, Any] = dict(changed=False, running=False, pid=None, name=params["name"])
    pid, url = locate(params, default_files(params))
    if pid is None:
        module.exit_json(**result)
    try:
        data = debug_vars(url) if url else None
    except MonitorError as exc:
        module.warn("choria-emulator pid %d runs but %s" % (pid, exc))
        data = None
    if data is None:
        result.update(running=True, pid=pid)
    else:
        result.update(status(data, pid, url))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
