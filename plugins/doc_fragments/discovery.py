# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations


class ModuleDocFragment:
    """Choria discovery filters, as C(choria discover) and the playbook C(mcollective) node set take them.

    Shared by chorialab.choria.rpc and chorialab.choria.discover; the argument spec is
    ``FILTER_SPEC`` in ``plugins/plugin_utils/choria_actions.py`` (``tests/ansible/test_reference.py``
    holds every action's spec equal to its module's documented options).
    """

    DOCUMENTATION = r"""
options:
  identities:
    description: Identities, exact or C(/regex/) (like C(-I)).
    type: list
    elements: str
  agents:
    description: Agents the nodes must have (like C(-A)); C(rpcutil) when none is given.
    type: list
    elements: str
  facts:
    description: Fact filters such as C(country=uk) or C(memory>=8) (like C(-F)).
    type: list
    elements: str
  classes:
    description: Configuration management classes (like C(-C)).
    type: list
    elements: str
  compound:
    description: A compound filter expression (like C(-S)).
    type: str
  collective:
    description: Sub-collective to address (default the main collective).
    type: str
  discovery_method:
    description: C(mc)/C(broadcast) asks the network, C(choria)/C(puppetdb) asks PuppetDB.
    type: str
    choices: [mc, broadcast, choria, puppetdb]
  discovery_timeout:
    description: Seconds to wait for discovery replies.
    type: float
  puppetdb:
    description:
      - Where PuppetDB is for the C(choria) discovery method and C(pql) node sets, with Bolt's option names
        (C(server_urls), C(cacert), C(cert), C(key), C(token)); else the C(PUPPETDB_*) variables or the Choria config.
    type: dict
  config_file:
    description: A Choria client configuration file to read before the connection options (which win).
    type: path
"""
