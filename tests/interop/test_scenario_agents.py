"""Issue 17: the real Ruby ``mco`` calls agents the emulator serves from their DDLs.

An emulated network with the real puppet, service, package and nrpe agents (``--ddl``) and their
shipped scenario (``real-agents``), signed requests verified by ``--secure``; the real ``mco`` finds
the Ruby DDLs, validators and aggregates it needs in the emulator's library
(``choria-emulator scenario path ruby``, added as a ``libdir``). ``mco rpc puppet status`` is the
command the issue names; the others check discovery by a DDL agent, state written through the
real client, and the inventory versions a playbook's ``uses`` sees.
"""

from __future__ import annotations

import pytest
from realchoria import concurrently, mco

from choria_emulator.ddl.agent import load_paths
from choria_emulator.scenario.library import DDL_DIR, RUBY_DIR

SIZE = 6
NAME = "pup"
LIBDIR = (f"libdir = {RUBY_DIR}",)
STATUS = load_paths([str(DDL_DIR / "puppet.json")])[0].actions["status"]
TYPES = {"string": str, "boolean": bool, "integer": int}


@pytest.fixture(scope="module")
def results(brokers, emulators):
    broker = brokers.start()
    network = emulators.start(
        broker,
        SIZE,
        name=NAME,
        secure=True,
        extra=(
            *("--ddl", "puppet", "--ddl", "service", "--ddl", "package", "--ddl", "nrpe"),
            *("--scenario", "real-agents", "--seed", "3"),
        ),
    )
    url = broker.url
    first = {
        "puppet status": ("rpc", "puppet", "status", "--json"),
        "puppet status one": ("rpc", "puppet", "status", "-I", f"{NAME}-1", "--json"),
        "find puppet": ("find", "-A", "puppet"),
        "nrpe check_load": ("rpc", "nrpe", "runcommand", "command=check_load", "-I", f"{NAME}-2", "--json"),
        "service status": ("rpc", "service", "status", "service=httpd", "-I", f"{NAME}-3", "--json"),
        "agent_inventory": ("rpc", "rpcutil", "agent_inventory", "-I", f"{NAME}-4", "--json"),
    }
    done = concurrently({key: (lambda args=args: mco(url, *args, extra_cfg=LIBDIR)) for key, args in first.items()})
    # then state written through the real client: the node reports it, and refuses a second disable
    done["disable"] = mco(
        url, "rpc", "puppet", "disable", "message=rehearsal", "-I", f"{NAME}-5", "--json", extra_cfg=LIBDIR
    )
    done["status after disable"] = mco(url, "rpc", "puppet", "status", "-I", f"{NAME}-5", "--json", extra_cfg=LIBDIR)
    done["disable twice"] = mco(url, "rpc", "puppet", "disable", "-I", f"{NAME}-5", "--json", extra_cfg=LIBDIR)
    yield done
    network.stop()
    broker.stop()


def test_mco_rpc_puppet_status_answers_from_every_node_with_the_ddl_outputs(results):
    result = results["puppet status"]
    assert result.rc == 0, result
    replies = result.json
    assert sorted(r["sender"] for r in replies) == [f"{NAME}-{i}" for i in range(SIZE)]
    for reply in replies:
        assert reply["statuscode"] == 0 and reply["statusmsg"] == "OK"
        assert list(reply["data"]) == list(STATUS.outputs)
        for name, item in STATUS.outputs.items():
            assert isinstance(reply["data"][name], TYPES[item.type]), (name, reply["data"][name])
        assert reply["data"]["enabled"] is True and reply["data"]["daemon_present"] is True
    assert "Failed to load" not in result.stderr  # every validator of the library loads
    one = results["puppet status one"]
    assert one.rc == 0, one
    assert [r["sender"] for r in one.json] == [f"{NAME}-1"]


def test_discovery_by_a_ddl_agent_and_its_inventory_version(results):
    found = results["find puppet"]
    assert found.rc == 0, found
    assert sorted(found.lines) == [f"{NAME}-{i}" for i in range(SIZE)]
    inventory = results["agent_inventory"]
    assert inventory.rc == 0, inventory
    agents = {a["agent"]: a for a in inventory.json[0]["data"]["agents"]}
    assert agents["puppet"]["version"] == "2.5.0" and agents["nrpe"]["version"] == "4.3.0"
    assert {"service", "package"} <= set(agents)


def test_other_real_agents_and_state_written_through_mco(results):
    check = results["nrpe check_load"]
    assert check.rc == 0, check
    assert check.json[0]["data"]["exitcode"] == 0 and check.json[0]["data"]["command"] == "check_load"
    service = results["service status"]
    assert service.rc == 0, service
    assert service.json[0]["data"] == {"status": "running"}
    disable = results["disable"]
    assert disable.rc == 0, disable
    assert disable.json[0]["data"] == {"status": "Succesfully locked the Puppet agent: rehearsal", "enabled": False}
    after = results["status after disable"].json[0]["data"]
    assert after["enabled"] is False and after["disable_message"] == "rehearsal" and after["status"] == "disabled"
    twice = results["disable twice"].json[0]
    assert twice["statuscode"] == 1 and twice["statusmsg"] == "Could not disable Puppet: Already disabled"
