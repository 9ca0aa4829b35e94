#!/usr/bin/python
# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: rpc
short_description: Call a Choria/MCollective agent action on many nodes, like a playbook mcollective task
version_added: 0.1.0
description:
  - Sends one Choria RPC request for O(agent)#O(action) from the controller, directly addressed to O(nodes), to the
    nodes of a Choria O(node_set), or to what the discovery filters find (the O(agent) is added to them, as
    C(choria req) does).
  - Success means what it means for the C(mcollective) task of a Choria YAML playbook - no failed replies, no missing
    replies, at least one OK reply and, with O(assert), every reply matching it. O(tries) and O(try_sleep) re-send
    the whole request, so O(assert) with O(tries) waits until the fleet reaches a state.
  - Runs on the controller (an action plugin); needs the C(choria-emulator) Python package there.
author:
  - chorialab (@chorialab)
extends_documentation_fragment:
  - chorialab.choria.connection.controller
  - chorialab.choria.connection.files
  - chorialab.choria.discovery
  - chorialab.choria.attributes
  - chorialab.choria.attributes.actiongroup_choria
attributes:
  check_mode:
    support: full
    details:
      - In check mode the targets are discovered (or taken from O(nodes)) and no request is sent.
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - An RPC action may change the nodes each time it runs; C(changed) is true after a successful request to any agent
        but C(rpcutil), C(choria_util) and C(discovery). Use C(changed_when) to say otherwise.
options:
  agent:
    description: Agent to call, e.g. C(puppet) or C(rpcutil).
    type: str
    required: true
  action:
    description: Action of the agent, e.g. C(disable).
    type: str
    required: true
  arguments:
    description:
      - Action inputs. Keys written as Ruby symbols in Choria playbooks (C(:message)) are taken without the colon.
    type: dict
    default: {}
    aliases: [properties, inputs]
  nodes:
    description: Identities to address directly, without discovery (a playbook's C({{ nodes.set }})).
    type: list
    elements: str
  node_set:
    description:
      - A Choria playbook node set (C(type) and its options, e.g. C(yaml), C(shell), C(terraform), C(pql),
        C(mcollective)) whose nodes are the targets. Resolved with C(limit), C(at_least), C(when_empty), C(test) and
        C(uses) as a playbook does.
    type: dict
  batch_size:
    description: Address this many nodes at a time.
    type: int
  batch_sleep_time:
    description: Seconds between batches.
    type: float
  tries:
    description: Attempts before the task fails; each re-sends the request.
    type: int
    default: 1
  try_sleep:
    description: Seconds between attempts.
    type: float
    default: 10
  pre_sleep:
    description: Seconds to wait once before the first attempt.
    type: float
  timeout:
    description: Seconds to wait for replies.
    type: float
    default: 10
  assert:
    description:
      - A JGrep expression every reply's C(data) must match, e.g. C(idling=true and enabled=true). An expression that
        does not parse fails the task before any request is sent.
    type: str
  expression:
    description:
      - The deprecated C(mcollective_assert) form C([left, operator, right]), e.g. C([idling, "==", true]).
    type: list
    elements: raw
  summarize:
    description: "Summarise the replies with the agent DDL's aggregate functions (a playbook's C(post: [summarize]))."
    type: bool
    default: false
  silent:
    description: Do not log every successful reply in RV(log).
    type: bool
    default: false
  description:
    description: Text for the summary message (C(Summary for <description>)).
    type: str
notes:
  - O(nodes) and O(node_set) are mutually exclusive; without either, the discovery filters choose the nodes.
seealso:
  - module: chorialab.choria.discover
  - module: chorialab.choria.choria_playbook
  - name: Choria playbooks as Ansible plays
    description: How C(choria-emulator playbook convert) maps the mcollective task onto this action.
    link: https://github.com/chorialab/choria/blob/main/docs/playbooks.md
"""

EXAMPLES = r"""
- name: Disable Puppet on the web servers in batches of 10
  chorialab.choria.rpc:
    agent: puppet
    action: disable
    arguments:
      message: Disabled during the Acme upgrade
    nodes: "{{ groups['web_servers'] }}"
    batch_size: 10

- name: Wait up to 10 minutes for Puppet to go idle
  chorialab.choria.rpc:
    agent: puppet
    action: status
    facts: ["cluster=alpha"]
    assert: "idling=true and enabled=true"
    tries: 20
    try_sleep: 30

- name: Ask the emulated fleet for a 100 byte payload
  chorialab.choria.rpc:
    servers: nats://broker.example.net:4222
    agent: emulated0
    action: generate
    arguments: {size: 100}
  register: generated
"""

RETURN = r"""
msg:
  description: The Choria task message, e.g. C(Successful request <id> for puppet#disable in 0.12s against 10 node(s)).
  returned: always
  type: str
success:
  description: Whether the request met the success rule (and the assertion).
  returned: unless check mode
  type: bool
nodes:
  description: The nodes addressed.
  returned: always
  type: list
  elements: str
requestid:
  description: Request id of the last attempt.
  returned: unless check mode
  type: str
replies:
  description: One entry per reply - C(agent), C(action), C(sender), C(statuscode), C(statusmsg), C(data), C(requestid).
  returned: unless check mode
  type: list
  elements: dict
data:
  description: Same as RV(replies) (what a playbook's C(previous_task.data) holds).
  returned: unless check mode
  type: list
  elements: dict
results:
  description: Per node - C(value) (the reply), C(type), C(fail_ok) and, for failed or missing nodes, C(error) with
    C(msg) and C(details).
  returned: unless check mode
  type: dict
summary:
  description: Counts - C(discovered), C(responded), C(ok), C(failed), C(noresponses) - and C(request_duration) in
    seconds.
  returned: when a request was sent
  type: dict
aggregate:
  description: The merged DDL summaries, value to count, with O(summarize).
  returned: when O(summarize=true)
  type: dict
attempts:
  description: How many times the request was sent.
  returned: unless check mode
  type: int
runtime:
  description: Seconds the task took, rounded to 2 decimals.
  returned: unless check mode
  type: float
log:
  description: The task's log lines, as a playbook run logs them.
  returned: unless check mode
  type: list
  elements: str
"""
