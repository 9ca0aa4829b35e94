"""PQL node sets and ``discovery_method: choria`` against a real PuppetDB 7 + PostgreSQL 15 with 50 nodes."""

from __future__ import annotations

import socket

import pytest
from nodeset_support import DEACTIVATED, DOMAIN, fleet

from choria_emulator.client import ClientConfig
from choria_emulator.nodesets import NodeSetContext, NodeSetError, PuppetDBConfig, PuppetDBError, resolve_node_set
from choria_emulator.nodesets.sources.mcollective import MCollectiveSource


def pql(query, ctx: NodeSetContext, **options) -> list[str]:
    return resolve_node_set("servers", {"type": "pql", "query": query, **options}, ctx).nodes


def test_fact_query(pdb_ctx: NodeSetContext) -> None:
    nodes = pql('inventory[certname] { facts.role = "db" }', pdb_ctx)
    assert sorted(nodes) == fleet(lambda n: n.facts["role"] == "db")
    assert len(nodes) == 10


def test_facts_entity_with_name_and_value(pdb_ctx: NodeSetContext) -> None:
    nodes = pql("facts { name = 'country' and value = 'mt' }", pdb_ctx)  # the documented sample's form
    assert sorted(set(nodes)) == fleet(lambda n: n.facts["country"] == "mt")


def test_class_resources_query(pdb_ctx: NodeSetContext) -> None:
    nodes = pql('resources[certname] { type = "Class" and title = "Apache" }', pdb_ctx)
    assert sorted(nodes) == fleet(lambda n: "Apache" in n.classes)
    assert DEACTIVATED not in nodes


def test_nested_subqueries(pdb_ctx: NodeSetContext) -> None:
    query = (
        'nodes[certname] { resources { type = "Package" and title = "apache2" } '
        'and facts { name = "country" and value = "mt" } }'
    )
    assert sorted(pql(query, pdb_ctx)) == fleet(lambda n: "apache2" in n.packages and n.facts["country"] == "mt")


def test_subquery_through_inventory(pdb_ctx: NodeSetContext) -> None:
    query = (
        'nodes[certname] { certname in inventory[certname] { facts.os.family = "RedHat" and facts.uptime_days > 10 } }'
    )
    assert sorted(pql(query, pdb_ctx)) == fleet(
        lambda n: n.facts["os"]["family"] == "RedHat" and n.facts["uptime_days"] > 10
    )


def test_deactivated_nodes_are_dropped(pdb_ctx: NodeSetContext) -> None:
    query = 'nodes[certname, deactivated] { node_state = "any" and certname ~ "^web" }'
    nodes = pql(query, pdb_ctx)
    assert DEACTIVATED not in nodes
    assert sorted(nodes) == fleet(lambda n: n.facts["role"] == "web")


def test_ast_query_forms(pdb_ctx: NodeSetContext) -> None:
    expected = fleet(lambda n: n.facts["country"] == "uk")
    assert sorted(pql(["=", ["fact", "country"], "uk"], pdb_ctx)) == expected
    assert sorted(pql('["from", "nodes", ["=", ["fact", "country"], "uk"]]', pdb_ctx)) == expected


def test_fact_rows_become_host_vars(pdb_ctx: NodeSetContext) -> None:
    resolved = resolve_node_set(
        "db",
        {
            "type": "pql",
            "query": 'facts[certname, name, value] { name in ["role", "country"] and certname ~ "^db0[12]" }',
        },
        pdb_ctx,
    )
    assert sorted(set(resolved.nodes)) == [f"db01.{DOMAIN}", f"db02.{DOMAIN}"]
    assert resolved.hostvars[f"db01.{DOMAIN}"] == {"facts": {"role": "db", "country": "de"}}
    assert resolved.hostvars[f"db02.{DOMAIN}"] == {"facts": {"role": "db", "country": "uk"}}


def test_inventory_rows_keep_facts(pdb_ctx: NodeSetContext) -> None:
    resolved = resolve_node_set(
        "lb", {"type": "pql", "query": 'inventory[certname, facts] { facts.role = "lb" }', "limit": 1}, pdb_ctx
    )
    (node,) = resolved.nodes
    assert resolved.hostvars[node]["facts"]["role"] == "lb"
    assert resolved.hostvars[node]["facts"]["os"] == {"family": "Debian"}


def test_broken_query_returns_puppetdbs_error_text(pdb_ctx: NodeSetContext) -> None:
    with pytest.raises(NodeSetError) as err:
        pql("nodes[certname] { facts.role = }", pdb_ctx)
    message = str(err.value)
    assert message.startswith("Node set servers: Failed to make request to PuppetDB: 400: Bad Request: ")
    assert "PQL parse error" in message or "parse" in message.lower()


def test_unknown_field_returns_puppetdbs_error_text(pdb_ctx: NodeSetContext) -> None:
    with pytest.raises(NodeSetError, match=r"Failed to make request to PuppetDB: 400: Bad Request: .*nosuchfield"):
        pql('nodes[certname] { nosuchfield = "x" }', pdb_ctx)


def test_results_without_certname_are_a_clear_error(pdb_ctx: NodeSetContext) -> None:
    with pytest.raises(NodeSetError, match="PQL results carry no certname"):
        pql('facts[name] { name = "role" }', pdb_ctx)


def test_empty_result_uses_when_empty(pdb_ctx: NodeSetContext) -> None:
    with pytest.raises(NodeSetError, match="^no such nodes$"):
        pql('nodes[certname] { certname = "nope.example" }', pdb_ctx, when_empty="no such nodes")


def test_unreachable_puppetdb_is_one_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    ctx = NodeSetContext(puppetdb=PuppetDBConfig(server_urls=[f"http://127.0.0.1:{port}"]))
    with pytest.raises(
        NodeSetError,
        match=rf"^Node set servers: Failed to make request to PuppetDB: "
        rf"could not connect to http://127.0.0.1:{port}: Connection refused$",
    ):
        pql("nodes[certname] {}", ctx)


def test_second_server_url_is_tried(puppetdb) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    ctx = NodeSetContext(puppetdb=PuppetDBConfig(server_urls=[dead, puppetdb.url]))
    assert sorted(pql('inventory[certname] { facts.role = "lb" }', ctx)) == fleet(lambda n: n.facts["role"] == "lb")


def test_puppetdb_location_from_environment(puppetdb, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUPPETDB_SERVER_URLS", f"{puppetdb.url}, http://unused.invalid:8080")
    monkeypatch.setenv("PUPPETDB_READ_TIMEOUT", "30")
    config = PuppetDBConfig.from_options(None, None)
    assert (
        config is not None
        and config.server_urls == [puppetdb.url, "http://unused.invalid:8080"]
        and config.read_timeout == 30.0
    )
    assert sorted(pql('inventory[certname] { facts.role = "lb" }', NodeSetContext(puppetdb=config))) == fleet(
        lambda n: n.facts["role"] == "lb"
    )


def test_explicit_options_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUPPETDB_SERVER_URLS", "https://from-env:8081")
    monkeypatch.setenv("PUPPETDB_TOKEN", "env-token")
    config = PuppetDBConfig.from_options({"server_urls": ["https://explicit:8081"]}, None)
    assert config.server_urls == ["https://explicit:8081"] and config.token == "env-token"


def test_choria_config_puppetdb_host_is_the_fallback(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SERVER_URLS", "CACERT", "CERT", "KEY", "TOKEN"):
        monkeypatch.delenv(f"PUPPETDB_{name}", raising=False)
    conf = tmp_path / "client.conf"
    conf.write_text(
        "plugin.choria.puppetdb_host = puppet.example.net\n"
        "plugin.choria.puppetdb_port = 8085\n"
        "plugin.security.file.ca = /ssl/ca.pem\n"
    )
    client = ClientConfig.load(config_file=str(conf))
    config = PuppetDBConfig.from_options({}, client)
    assert config.server_urls == ["https://puppet.example.net:8085"] and config.cacert == "/ssl/ca.pem"
    assert PuppetDBConfig.from_options({}, ClientConfig.load(search_default_files=False)) is None


@pytest.mark.parametrize(
    "options, message",
    [
        ({"server_urls": "puppetdb:8081"}, "must start with http:// or https://"),
        ({"server_urls": "https://p", "read_timeout": "soon"}, "read_timeout must be a number of seconds"),
        ({"server_urls": "https://p", "cert": "/c.pem"}, "cert and key must be given together"),
        ({"server_url": "https://p"}, "unknown puppetdb option server_url"),
    ],
)
def test_bad_puppetdb_options(options: dict, message: str) -> None:
    with pytest.raises(PuppetDBError, match=message):
        PuppetDBConfig.from_options(options, None)


def test_pql_without_puppetdb_is_a_clear_error() -> None:
    with pytest.raises(NodeSetError, match="^Node set servers: no PuppetDB is configured"):
        pql("nodes[certname] {}", NodeSetContext(client=ClientConfig.load(search_default_files=False)))


def test_no_query_is_the_upstream_error() -> None:
    with pytest.raises(NodeSetError) as err:
        resolve_node_set("servers", {"type": "pql"}, NodeSetContext())
    assert err.value.reason == "No PQL query specified"


# discovery_method: choria -------------------------------------------------------------------


def choria(ctx: NodeSetContext, **options) -> list[str]:
    return resolve_node_set("servers", {"type": "mcollective", "discovery_method": "choria", **options}, ctx).nodes


def test_choria_discovery_defaults_to_nodes_with_rpcutil(pdb_ctx: NodeSetContext) -> None:
    assert sorted(choria(pdb_ctx)) == fleet(lambda n: "Mcollective" in n.classes)


def test_choria_discovery_by_class_and_fact(pdb_ctx: NodeSetContext) -> None:
    nodes = choria(pdb_ctx, classes=["apache"], facts=["country=mt"])
    assert sorted(nodes) == fleet(lambda n: "Apache" in n.classes and n.facts["country"] == "mt")


def test_choria_discovery_by_agent(pdb_ctx: NodeSetContext) -> None:
    assert sorted(choria(pdb_ctx, agents=["puppet"])) == fleet(lambda n: "Mcollective_agent_puppet" in n.classes)


def test_choria_discovery_by_identity_regex_and_exact(pdb_ctx: NodeSetContext) -> None:
    nodes = choria(pdb_ctx, identities=["/^LB0[12]/", f"db07.{DOMAIN}"])
    assert sorted(nodes) == sorted([f"lb01.{DOMAIN}", f"lb02.{DOMAIN}", f"db07.{DOMAIN}"])


def test_choria_discovery_by_collective(pdb_ctx: NodeSetContext) -> None:
    nodes = choria(pdb_ctx, collective="eu_collective", classes=["mysql"])
    assert sorted(nodes) == fleet(
        lambda n: "Mysql" in n.classes and "eu_collective" in n.facts["mcollective"]["server"]["collectives"]
    )


def test_choria_discovery_numeric_fact_comparison(pdb_ctx: NodeSetContext) -> None:
    nodes = choria(pdb_ctx, facts=["uptime_days>=18"], classes=["apache"])
    assert sorted(nodes) == fleet(lambda n: "Apache" in n.classes and n.facts["uptime_days"] >= 18)


def test_choria_discovery_query_text() -> None:
    source = MCollectiveSource(
        "s",
        {
            "type": "mcollective",
            "discovery_method": "choria",
            "classes": ["apache::mod"],
            "facts": ["country=/M/"],
            "identities": ["web1"],
        },
        NodeSetContext(),
    )
    assert source.pql() == (
        'nodes[certname, deactivated] { (certname = "web1") and (resources {type = "Class" and title = "Apache::Mod"}) '
        'and (facts {name = "country" and value ~ "[mM]"}) and (resources {type = "Class" and title = "Mcollective"}) }'
    )
