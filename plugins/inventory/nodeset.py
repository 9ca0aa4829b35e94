# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

DOCUMENTATION = r"""
name: nodeset
short_description: Choria node sets (PuppetDB PQL, YAML, shell, Terraform, Choria discovery) as inventory groups
version_added: 0.1.0
author:
  - chorialab (@chorialab)
description:
  - Resolves the node sets of the Choria playbook format, one group per node set, with the same
    options, defaults and error messages as Choria playbooks.
  - "Sources: C(mcollective) (broadcast discovery over NATS, or PuppetDB with C(discovery_method: choria)),
    C(pql) (PuppetDB Query Language), C(yaml) (a group of a node source file), C(shell) (a command printing one
    node per line) and C(terraform) (a list output of a Terraform state)."
  - "Common options of every node set: C(at_least) (default 1), C(limit), C(when_empty), C(empty_ok), C(test)
    (an C(rpcutil#ping) of every node through the Choria network) and C(uses) (agents whose versions must match
    the top-level O(uses) ranges, checked with C(rpcutil#agent_inventory))."
  - Every host gets C(<prefix>identity) and C(<prefix>node_sets), plus what its source knows under the same prefix
    (C(<prefix>facts) and other columns of PQL results, C(<prefix>terraform) for object outputs, C(<prefix>collective)
    for discovered nodes).
  - The configuration file name must end in C(.choria_nodes.yml) or C(.choria_nodes.yaml).
  - Needs the C(choria-emulator) Python package on the controller.
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin; the file is used by this plugin only when it says so.
    required: true
    type: str
    choices: [chorialab.choria.nodeset]
  node_sets:
    description:
      - Node sets by name, exactly as the C(nodes) section of a Choria playbook; each becomes a group.
      - "C(type) is one of C(mcollective) (options C(agents), C(identities), C(facts), C(classes), C(compound),
        C(discovery_method), C(collective), C(discovery_timeout)), C(pql) (C(query)), C(yaml) (C(source), C(group)),
        C(shell) (C(script), C(timeout)) or C(terraform) (C(statefile), C(output), C(terraform))."
      - Relative C(source), C(statefile) and C(script) paths start at the directory of this file.
    type: dict
    required: true
  choria:
    description:
      - The Choria network for C(mcollective) node sets and for C(test) and C(uses).
      - "Keys: C(servers) (list of C(host:port) or C(nats://) URLs), C(config_file) (a Choria client config;
        default C(~/.choriarc) then C(/etc/choria/client.conf)), C(main_collective), C(identity), C(certname),
        C(tls), C(tls_verify), C(tls_ca), C(tls_cert), C(tls_key), C(secure), C(credentials), C(user), C(password),
        C(discovery_timeout)."
    type: dict
    default: {}
  puppetdb:
    description:
      - Where PuppetDB is, for C(pql) node sets and C(discovery_method=choria), with Puppet Bolt's option names.
      - Each key falls back to an environment variable (C(PUPPETDB_SERVER_URLS), C(PUPPETDB_CACERT), C(PUPPETDB_CERT),
        C(PUPPETDB_KEY), C(PUPPETDB_TOKEN), C(PUPPETDB_CONNECT_TIMEOUT), C(PUPPETDB_READ_TIMEOUT)), so AWX credentials
        can inject them; without a URL, C(plugin.choria.puppetdb_host) and C(_port) of the Choria config are used
        (HTTPS).
    type: dict
    default: {}
    suboptions:
      server_urls:
        description: PuppetDB URLs (C(https://puppetdb:8081)); tried in order until one answers.
        type: list
        elements: str
      cacert:
        description: CA certificate that signed PuppetDB's certificate.
        type: path
      cert:
        description: Client certificate for PuppetDB.
        type: path
      key:
        description: Private key of O(puppetdb.cert).
        type: path
      token:
        description: An RBAC token (sent as C(X-Authentication)), or the path of a file holding one.
        type: str
      connect_timeout:
        description: Seconds to wait for a connection.
        type: float
      read_timeout:
        description: Seconds to wait for an answer.
        type: float
  uses:
    description: Agent name to SemanticPuppet version range (C(~1.0.0), C(>= 1.0 < 2.0)), as a playbook's top-level
      C(uses).
    type: dict
    default: {}
  hostvar_prefix:
    description: Prefix of the host variables this plugin sets.
    type: str
    default: choria_
  rpc_timeout:
    description: Seconds to wait for replies to the C(test) ping and the C(uses) inventory request.
    type: float
    default: 10
"""

EXAMPLES = r"""
# web.choria_nodes.yml
plugin: chorialab.choria.nodeset
puppetdb:
  server_urls: [https://puppetdb.example.net:8081]
  cacert: /etc/puppetlabs/puppet/ssl/certs/ca.pem
choria:
  servers: [nats://broker.example.net:4222]
uses:
  rpcutil: "~1.0"
node_sets:
  web:
    type: pql
    query: nodes[certname] { resources { type = "Class" and title = "Apache" } }
    test: true
    uses: [rpcutil]
  db:
    type: yaml
    source: nodes.yaml
    group: db_servers
  emulated:
    type: mcollective
    identities: ["/^emu-/"]
    limit: 100
keyed_groups:
  - key: choria_facts.country | default('unknown')
    prefix: country
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: /tmp/choria-inventory
"""

import os

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var as make_unsafe
from ansible_collections.chorialab.choria.plugins.plugin_utils.choria import import_choria_module


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "chorialab.choria.nodeset"

    def verify_file(self, path):
        """Only ``*.choria_nodes.yml`` / ``*.choria_nodes.yaml`` files."""
        return super().verify_file(path) and path.endswith((".choria_nodes.yml", ".choria_nodes.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache")
        results = None
        update_cache = False
        if use_cache and cache:
            try:
                results = self._cache[cache_key]
            except KeyError:
                update_cache = True
        elif use_cache:
            update_cache = True  # --flush-cache: resolve again and store
        if results is None:
            results = self._resolve(path)
        if update_cache:
            self._cache[cache_key] = results
        self._populate(results)

    def _resolve(self, path):
        """Resolve every node set with the library; a node-set error is one clear parser error."""
        nodesets = import_choria_module("nodesets")
        try:
            ctx = nodesets.context_from_options(
                choria=self.get_option("choria"),
                puppetdb={k: v for k, v in (self.get_option("puppetdb") or {}).items() if v is not None},
                uses=self.get_option("uses"),
                base_dir=os.path.dirname(os.path.abspath(path)),
                rpc_timeout=float(self.get_option("rpc_timeout")),
            )
            resolved = nodesets.resolve_node_sets(self.get_option("node_sets"), ctx)
        except nodesets.NodeSetError as exc:
            raise AnsibleParserError("%s: %s" % (path, exc)) from exc
        return dict((name, node_set.to_dict()) for name, node_set in resolved.items())

    def _populate(self, results):
        prefix = self.get_option("hostvar_prefix")
        strict = self.get_option("strict")
        memberships = {}
        for name, node_set in results.items():
            group = self.inventory.add_group(self._sanitize_group_name(name))
            for node in node_set["nodes"]:
                host = self.inventory.add_host(make_unsafe(node), group=group)
                memberships.setdefault(host, []).append(name)
                for key, value in (node_set["hostvars"].get(node) or {}).items():
                    self.inventory.set_variable(host, prefix + key, make_unsafe(value))
        for host, names in memberships.items():
            self.inventory.set_variable(host, prefix + "identity", make_unsafe(host))
            self.inventory.set_variable(host, prefix + "node_sets", make_unsafe(names))
            hostvars = self.inventory.get_host(host).get_vars()
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)
