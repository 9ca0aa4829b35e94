#!/usr/bin/python
# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: nats_server_info
short_description: Status of a nats-server started by chorialab.choria.nats_server
version_added: 0.1.0
description:
  - Reports whether a nats-server runs, its PID, URLs, version and load (connections, subscriptions,
    messages) from its monitoring endpoint C(/varz). Changes nothing.
  - Finds the server by the same O(port)/O(name)/O(config_dir) as M(chorialab.choria.nats_server), or asks
    any nats-server's monitoring endpoint given as O(monitor_url).
author:
  - chorialab (@chorialab)
extends_documentation_fragment:
  - chorialab.choria.attributes
  - chorialab.choria.attributes.info_module
options:
  port:
    description: Client port the server was started with (identifies its files unless O(name) was given).
    type: int
    default: 4222
  monitor_port:
    description: Monitoring port it was started with (used when it has no ports file).
    type: int
    default: 8222
  bind:
    description: Bind address it was started with.
    type: str
    default: 0.0.0.0
  name:
    description: Server name it was started with.
    type: str
  config_dir:
    description: Directory of its configuration, PID and ports files.
    type: path
    default: /tmp/choria-emulator
  config_file:
    description: Its configuration file, if not the default.
    type: path
  pid_file:
    description: Its PID file, if not the default.
    type: path
  monitor_url:
    description:
      - Ask this monitoring endpoint (for example V(http://broker1:8222)) instead of looking for a local server.
    type: str
seealso:
  - module: chorialab.choria.nats_server
"""

EXAMPLES = r"""
- name: How loaded is the broker?
  chorialab.choria.nats_server_info:
    port: 4300
  register: broker

- name: Every emulated instance holds one connection
  ansible.builtin.assert:
    that: broker.connections >= 750
"""

RETURN = r"""
running:
  description: Whether the server runs (and its monitoring endpoint answers).
  returned: always
  type: bool
  sample: true
pid:
  description: Process ID (null when not running or when only O(monitor_url) was asked).
  returned: always
  type: int
url:
  description: Client URL.
  returned: when running
  type: str
  sample: nats://127.0.0.1:4222
monitor_url:
  description: Monitoring URL.
  returned: when running
  type: str
  sample: http://127.0.0.1:8222
version:
  description: nats-server version.
  returned: when running
  type: str
connections:
  description: Client connections now.
  returned: when running
  type: int
subscriptions:
  description: Subscriptions now.
  returned: when running
  type: int
varz:
  description: A summary of C(/varz) (server_id, server_name, version, connections, subscriptions, routes, in/out
    messages and bytes, mem, cpu, limits, start).
  returned: when running
  type: dict
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.chorialab.choria.plugins.module_utils.monitor import MonitorError
from ansible_collections.chorialab.choria.plugins.module_utils.nats import (
    default_files,
    endpoints,
    find_server,
    summarize_varz,
    varz,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            port=dict(type="int", default=4222),
            monitor_port=dict(type="int", default=8222),
            bind=dict(type="str", default="0.0.0.0"),
            name=dict(type="str"),
            config_dir=dict(type="path", default="/tmp/choria-emulator"),
            config_file=dict(type="path"),
            pid_file=dict(type="path"),
            monitor_url=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    result: dict[str, Any] = dict(changed=False, running=False, pid=None)
    if params["monitor_url"]:
        urls = {"monitor_url": params["monitor_url"].rstrip("/"), "url": None}
    else:
        pid = find_server(default_files(params))
        if pid is None:
            module.exit_json(**result)
        result["pid"] = pid
        urls = endpoints(params, pid)
    try:
        data = varz(urls["monitor_url"])
    except MonitorError as exc:
        if result["pid"]:
            module.warn("nats-server pid %s runs but %s" % (result["pid"], exc))
            result.update(running=True, **urls)
        module.exit_json(**result)
    if urls.get("url") is None:
        port = data.get("port")
        host = (
            data.get("host")
            if data.get("host") not in (None, "0.0.0.0")
            else urls["monitor_url"].split("//", 1)[-1].rsplit(":", 1)[0]
        )
        urls["url"] = "nats://%s:%s" % (host, port)
    result.update(
        running=True,
        version=data.get("version"),
        connections=data.get("connections"),
        subscriptions=data.get("subscriptions"),
        varz=summarize_varz(data),
        **urls,
    )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
