"""The blue/green rehearsal end to end at 500 nodes (make bench-scenarios runs it at 10,000).

Two fleets on a routed three-server NATS cluster, each served by one emulator with the puppet,
haproxy, appmgr and nrpe DDL agents: one with the ``blue-green`` scenario, one where 1 % of the
nodes never pass ``check_app``. The shipped playbook runs natively (``choria-emulator playbook
run``) and converted (``playbook convert`` + ``ansible-playbook``), each on a fresh fleet, with
the retry pauses scaled from 30 s to 2 s. The webhook and Slack go to a local sink.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from scenario_support import REPO

from choria_emulator.client import ChoriaClient, ClientConfig, rpc
from choria_emulator.testing.rehearsal import Fleet, RunResult, Sink, collections_path, prepare_playbooks

SIZE = 500
TRY_SLEEP = 2
MAIN_STEPS = [
    "Tell the channel the deploy starts",
    "Disable Puppet",
    "Wait until Puppet is idle",
    "Take the nodes out of HAProxy",
    "Upgrade the application to",
    "Check the application with NRPE until it is OK",
    "Put the nodes back into HAProxy",
    "Check the application revision",
    "Enable Puppet",
]

pytestmark = pytest.mark.slow


@pytest.fixture
def sink():
    server = Sink()
    yield server
    server.stop()


def fleet_state(fleet: Fleet, agent: str, action: str, data: dict | None = None) -> list[dict]:
    async def ask() -> list[dict]:
        config = ClientConfig.load(servers=fleet.nats.urls, search_default_files=False, identity="rehearsal-check")
        async with ChoriaClient(config) as client:
            names = [f"{fleet.cluster_name}-{i}" for i in range(fleet.size)]
            result = await rpc(client, agent, action, data or {}, targets=names, timeout=20)
            assert not result.missing
            return result.replies

    return asyncio.run(ask())


def describe(result: RunResult) -> str:
    lines = [f"{result.mode}: success={result.success} in {result.seconds:.1f} s"]
    lines += [
        f"  {s.hook:10} {s.description:60} {s.seconds:7.2f} s tries={s.tries} ok={s.success}" for s in result.steps
    ]
    return "\n".join(lines) + "\n" + result.output[-3000:]


def test_the_deploy_succeeds(tmp_path: Path, sink: Sink, record_property):
    fleet = Fleet(tmp_path / "fleet", SIZE, seed=7)
    try:
        assert len(fleet.nats.servers) == 3 and fleet.emulator.debug_vars()["connected"] == SIZE
        busy = [r for r in fleet_state(fleet, "puppet", "status") if r["data"]["applying"]]
        assert 10 <= len(busy) <= 20  # 3 % of 500 are applying a catalog: "wait until idle" has to wait

        book = prepare_playbooks(tmp_path / "books", try_sleep=TRY_SLEEP)
        native = fleet.run_native(book, sink, "2.0.0")
        print(describe(native))
        assert native.success, describe(native)
        assert [s.description for s in native.steps if s.hook == "tasks"][: len(MAIN_STEPS)] == [
            s if not s.endswith(" to") else "Upgrade the application to 2.0.0" for s in MAIN_STEPS
        ]
        assert native.step("Wait until Puppet is idle").tries > 1  # it really waited for the busy nodes
        assert native.step("Discover the node set").success
        assert native.report["nodes"]["servers"] and len(native.report["nodes"]["servers"]) == SIZE
        assert sink.webhooks() == [{"outcome": "success", "cluster": "bg", "revision": "2.0.0"}]
        assert len(sink.slack_messages()) == 1
        record_property("native_success_seconds", round(native.seconds, 1))

        revisions = fleet_state(fleet, "appmgr", "status")
        assert {r["data"]["revision"] for r in revisions} == {"2.0.0"}
        assert all(r["data"]["healthy"] for r in revisions)
        assert all(r["data"]["enabled"] for r in fleet_state(fleet, "haproxy", "status", {"backend": "app"}))
        assert all(r["data"]["enabled"] for r in fleet_state(fleet, "puppet", "status"))
    finally:
        fleet.stop()


def test_the_converted_deploy_succeeds(tmp_path: Path, sink: Sink, record_property):
    fleet = Fleet(tmp_path / "fleet", SIZE, seed=7)
    try:
        book = prepare_playbooks(tmp_path / "books", try_sleep=TRY_SLEEP)
        converted = fleet.run_converted(book, sink, "2.0.0", collections_path(REPO, tmp_path / "collections"))
        print(describe(converted))
        assert converted.success, describe(converted)
        names = [s.description for s in converted.steps]
        for step in MAIN_STEPS:
            assert any(name.startswith(step) for name in names), (step, names)
        assert sink.webhooks() == [{"outcome": "success", "cluster": "bg", "revision": "2.0.0"}]
        assert len(sink.slack_messages()) == 1
        assert {r["data"]["revision"] for r in fleet_state(fleet, "appmgr", "status")} == {"2.0.0"}
        assert all(r["data"]["enabled"] for r in fleet_state(fleet, "haproxy", "status", {"backend": "app"}))
        record_property("converted_success_seconds", round(converted.seconds, 1))
    finally:
        fleet.stop()


def test_one_percent_never_green_takes_the_on_fail_path(tmp_path: Path, sink: Sink, record_property):
    fleet = Fleet(tmp_path / "fleet", SIZE, never_green=True, seed=7)
    try:
        book = prepare_playbooks(tmp_path / "books", try_sleep=TRY_SLEEP)
        native = fleet.run_native(book, sink, "2.0.0")
        print(describe(native))
        assert not native.success
        check = native.step("Check the application with NRPE until it is OK")
        assert check is not None and check.tries == 10 and not check.success
        assert native.step("Put the nodes back into HAProxy") is None  # nothing after the failed check ran
        failed_report = native.step("Report the failed deploy")
        handler = native.step("Run the failure handler")
        assert failed_report.hook == "on_fail" and handler.hook == "on_fail" and handler.success
        hooks = sink.webhooks()
        assert [h["outcome"] for h in hooks] == ["failure", "failure_handler_started", "failure_handled"]
        never_green = int(hooks[0]["reason"].split("assertion failed on ")[1].split(" ")[0])
        assert 4 <= never_green <= 6  # 1 % of 500
        assert "nrpe#runcommand" in hooks[0]["reason"]
        # the failure handler gave Puppet back to every node; the unhealthy ones stay out of HAProxy
        assert all(r["data"]["enabled"] for r in fleet_state(fleet, "puppet", "status"))
        haproxy = fleet_state(fleet, "haproxy", "status", {"backend": "app"})
        assert sum(not r["data"]["enabled"] for r in haproxy) == SIZE
        record_property("native_failure_seconds", round(native.seconds, 1))
    finally:
        fleet.stop()


def test_the_converted_deploy_takes_the_on_fail_path_too(tmp_path: Path, sink: Sink, record_property):
    fleet = Fleet(tmp_path / "fleet", SIZE, never_green=True, seed=7)
    try:
        book = prepare_playbooks(tmp_path / "books", try_sleep=TRY_SLEEP)
        converted = fleet.run_converted(book, sink, "2.0.0", collections_path(REPO, tmp_path / "collections"))
        print(describe(converted))
        assert not converted.success
        hooks = sink.webhooks()
        assert [h["outcome"] for h in hooks] == ["failure", "failure_handler_started", "failure_handled"]
        assert "nrpe#runcommand" in hooks[0]["reason"] and "assertion failed on" in hooks[0]["reason"]
        assert all(r["data"]["enabled"] for r in fleet_state(fleet, "puppet", "status"))
        record_property("converted_failure_seconds", round(converted.seconds, 1))
    finally:
        fleet.stop()
