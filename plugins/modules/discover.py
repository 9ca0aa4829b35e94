#!/usr/bin/python
# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: discover
short_description: Discover Choria nodes by filter, or resolve Choria playbook node sets
version_added: 0.1.0
description:
  - With filters, asks the Choria network (or PuppetDB) which nodes match and returns their identities, like
    C(choria discover).
  - With O(node_sets), resolves Choria playbook node sets (C(mcollective), C(pql), C(yaml), C(shell), C(terraform)) with
    their C(limit), C(at_least), C(when_empty), C(test) and C(uses) checks, as a playbook does before its tasks. This is
    how converted playbooks get their nodes; use M(ansible.builtin.add_host) to make groups of them.
  - O(uses) checks agent versions against local DDLs first and, for node sets that list agents in their C(uses), on the
    nodes.
  - Changes nothing. Runs on the controller and needs the C(choria-emulator) Python package there.
author:
  - chorialab (@chorialab)
extends_documentation_fragment:
  - chorialab.choria.connection.controller
  - chorialab.choria.connection.files
  - chorialab.choria.discovery
  - chorialab.choria.attributes
  - chorialab.choria.attributes.info_module
  - chorialab.choria.attributes.actiongroup_choria
options:
  node_sets:
    description: Choria playbook node sets, name to options (as under C(nodes:) of a playbook).
    type: dict
  uses:
    description: Agent to SemVer range (SemanticPuppet syntax, e.g. C(~1.0.0)), as the top-level C(uses) of a playbook.
    type: dict
    default: {}
  ddl_path:
    description: Directories with agent JSON DDLs for the local O(uses) check (besides C($CHORIA_DDL_PATH) and the
      bundled ones).
    type: list
    elements: path
    default: []
  timeout:
    description: Seconds to wait for the replies of the C(test) ping and the C(uses) inventory request.
    type: float
    default: 10
notes:
  - O(node_sets) cannot be combined with the filter options.
seealso:
  - module: chorialab.choria.rpc
  - plugin: chorialab.choria.nodeset
    plugin_type: inventory
"""

EXAMPLES = r"""
- name: Web servers in the UK
  chorialab.choria.discover:
    agents: [apache]
    facts: ["country=uk"]
  register: uk

- name: A playbook's node sets, checked for connectivity and agent versions
  chorialab.choria.discover:
    uses:
      rpcutil: "~1.0.0"
    node_sets:
      servers:
        type: mcollective
        facts: ["cluster=alpha"]
        test: true
        uses: [rpcutil]
  register: found

- name: One group per node set
  ansible.builtin.add_host:
    name: "{{ item.1 }}"
    groups: "{{ item.0.key }}"
  loop: "{{ found.node_sets | dict2items | subelements('value') }}"
"""

RETURN = r"""
nodes:
  description: Identities found (with O(node_sets), of all sets, de-duplicated).
  returned: always
  type: list
  elements: str
count:
  description: Number of nodes found by the filters.
  returned: with filters
  type: int
node_sets:
  description: Set name to its nodes, in the order the set produced them.
  returned: with O(node_sets)
  type: dict
hostvars:
  description: Node to variables its source provided (PQL facts, Terraform attributes).
  returned: with O(node_sets)
  type: dict
log:
  description: What resolving the node sets logged.
  returned: always
  type: list
  elements: str
"""
