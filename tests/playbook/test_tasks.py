"""Task types (playbooks.md §2.2-2.8, §7 items 35-41): mcollective against the emulated network,
webhook/slack/graphite against a local HTTP server, shell and data locally."""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path

import pytest
from pbhelpers import complete

from choria_emulator import ddl
from choria_emulator.playbook.tasks.webhook import truthy


def run(make_book, tasks, inputs=None, **options):
    data = complete({"tasks": tasks}) if isinstance(tasks, list) else complete(tasks)
    return make_book(data, **options).run(inputs or {})


def result(report, index=-1):
    return report["tasks"][index]


# -- mcollective --------------------------------------------------------------------------------
def test_mcollective_success_message_and_reply_data(make_book, network):
    mark = len(network.audit_lines())
    report = run(
        make_book,
        [
            {
                "mcollective": {
                    "action": "emulated0.generate",
                    "nodes": ["emu-0", "emu-1", "emu-2"],
                    "properties": {":size": 4},
                }
            }
        ],
        **network.options(),
    )
    assert report["report"]["success"], report["report"]
    assert re.fullmatch(
        r"Successful request [0-9a-f]{32} for emulated0#generate in \d+\.\d\ds against 3 node\(s\)",
        result(report)["msg"],
    )
    calls = network.calls_since(mark)
    assert sorted(c["identity"] for c in calls) == ["emu-0", "emu-1", "emu-2"]
    assert all(c["agent"] == "emulated0" and c["action"] == "generate" and c["data"] == {"size": 4} for c in calls)


def test_mcollective_failed_replies_fail_the_task(make_book, network, tmp_path):
    # a DDL of our own that declares an action the emulated nodes do not have: the request is sent, every reply fails
    document = json.loads((Path(ddl.__file__).parent / "emulated0.json").read_text())
    document["actions"].append({**document["actions"][0], "action": "nope", "input": {}})
    (tmp_path / "emulated0.json").write_text(json.dumps(document))
    tasks = [{"mcollective": {"action": "emulated0.nope", "nodes": ["emu-0", "emu-1"]}}]
    report = run(make_book, tasks, **network.options(extra={"ddl_path": [str(tmp_path)]}))
    assert re.fullmatch(r"Failed request [0-9a-f]{32} for emulated0#nope on 2 failed node\(s\)", result(report)["msg"])
    assert report["report"]["success"] is False


def test_mcollective_action_not_in_the_ddl_fails_before_any_request(make_book, network):
    """As 0.6.0's RPC client validates a request against the agent's DDL before sending it."""
    mark = len(network.audit_lines())
    tasks = [
        {"mcollective": {"action": "emulated0.nope", "nodes": ["emu-0"], "fail_ok": True}},
        {"mcollective": {"action": "rpcutil.get_fact", "nodes": ["emu-0"]}},
    ]
    report = run(make_book, tasks, **network.options())
    assert [t["msg"] for t in report["tasks"]] == [
        "Could not create request for emulated0#nope: MCollective::DDLValidationError: "
        "Attempted to call action nope for emulated0 but it's not declared in the DDL",
        "Could not create request for rpcutil#get_fact: MCollective::DDLValidationError: "
        "Action get_fact needs a fact argument",
    ]
    assert network.calls_since(mark) == []


def test_mcollective_no_responses_fail_the_task(make_book, network):
    report = run(
        make_book,
        [{"mcollective": {"action": "rpcutil.ping", "nodes": ["emu-0", "ghost-node"]}}],
        **network.options(rpc_timeout=0.5),
    )
    assert re.fullmatch(r"Failed request [0-9a-f]{32} for rpcutil#ping on 1 failed node\(s\)", result(report)["msg"])
    assert any("No responses from: ghost-node" in e["msg"] for e in report["logs"])


def test_mcollective_assert_all_match_passes(make_book, network):
    report = run(
        make_book,
        [
            {
                "mcollective": {
                    "action": "emulated0.generate",
                    "nodes": ["emu-0", "emu-1"],
                    "properties": {"size": 3},
                    "assert": "message=012",
                }
            }
        ],
        **network.options(),
    )
    assert report["report"]["success"], report["tasks"]


def test_mcollective_assert_failure_counts_nodes_and_retries_resend(make_book, network, sleeps):
    mark = len(network.audit_lines())
    task = {
        "action": "rpcutil.get_fact",
        "nodes": ["emu-0", "emu-1", "emu-2"],
        "properties": {"fact": "country"},
        "assert": "value=uk",
        "tries": 2,
        "try_sleep": 30,
    }
    report = run(make_book, [{"mcollective": task}], **network.options())
    assert re.fullmatch(
        r"Failed request [0-9a-f]{32} for rpcutil#get_fact assertion failed on 1 node\(s\)", result(report)["msg"]
    )
    assert sleeps.calls == [30]
    assert len(network.calls_since(mark)) == 6  # each try re-sends the request


def test_mcollective_invalid_assert_aborts_the_playbook(make_book, network):
    report = run(
        make_book,
        [{"mcollective": {"action": "rpcutil.ping", "nodes": ["emu-0"], "assert": "and pong"}}],
        **network.options(),
    )
    assert report["report"]["playbook_error"].startswith(
        "Playbook test_playbook failed: RuntimeError: Could not parse the assertion and pong: Error at column "
    )
    assert report["tasks"] == []


def test_mcollective_summarize_uses_ddl_aggregates(make_book, network):
    task = {
        "description": "Country census",
        "action": "rpcutil.get_fact",
        "nodes": ["emu-0", "emu-1", "emu-2", "emu-3"],
        "properties": {"fact": "country"},
        "post": ["summarize"],
    }
    report = run(make_book, [{"mcollective": task}], **network.options())
    assert result(report)["msg"] == 'Summary for Country census: {"de":2,"uk":2}'


def test_mcollective_summarize_without_aggregates_keeps_the_success_message(make_book, network):
    report = run(
        make_book,
        [{"mcollective": {"action": "rpcutil.ping", "nodes": ["emu-0"], "post": ["summarize"]}}],
        **network.options(),
    )
    assert result(report)["msg"].startswith("Successful request")


def test_mcollective_silent_logs_no_successful_replies(make_book, network):
    loud = run(make_book, [{"mcollective": {"action": "rpcutil.ping", "nodes": ["emu-0"]}}], **network.options())
    quiet = run(
        make_book,
        [{"mcollective": {"action": "rpcutil.ping", "nodes": ["emu-0"], "silent": True}}],
        **network.options(),
    )
    assert any("emu-0 rpcutil#ping success" in e["msg"] for e in loud["logs"])
    assert not any("emu-0 rpcutil#ping success" in e["msg"] for e in quiet["logs"])


def test_mcollective_batches_reach_every_node(make_book, network):
    mark = len(network.audit_lines())
    report = run(
        make_book,
        [
            {
                "mcollective": {
                    "action": "rpcutil.ping",
                    "nodes": network.names[:5],
                    "batch_size": 2,
                    "batch_sleep_time": 0,
                }
            }
        ],
        **network.options(),
    )
    assert report["report"]["success"]
    assert sorted(c["identity"] for c in network.calls_since(mark)) == network.names[:5]


def test_mcollective_nodes_must_be_a_list(make_book, network):
    report = run(make_book, [{"mcollective": {"action": "rpcutil.ping", "nodes": "emu-0"}}], **network.options())
    assert (
        report["report"]["playbook_error"] == "Playbook test_playbook failed: RuntimeError: Nodes have to be an array"
    )


def test_mcollective_unreachable_broker_fails_the_task_with_the_client_error(make_book, network):
    from pbhelpers import free_port

    from choria_emulator.client import ClientConfig

    client = ClientConfig.load(servers=[f"127.0.0.1:{free_port()}"], search_default_files=False)
    report = run(make_book, [{"mcollective": {"action": "rpcutil.ping", "nodes": ["emu-0"]}}], client=client)
    assert result(report)["msg"].startswith("Could not create request for rpcutil#ping: ")


def test_deprecated_mcollective_assert_task_runs(make_book, network):
    ok = run(
        make_book,
        [
            {
                "mcollective_assert": {
                    "action": "rpcutil.get_fact",
                    "nodes": ["emu-0", "emu-2"],
                    "properties": {":fact": "country"},
                    "expression": ["value", "==", "uk"],
                }
            }
        ],
        **network.options(),
    )
    assert result(ok)["msg"] == "All nodes matched expression value == uk"
    bad = run(
        make_book,
        [
            {
                "mcollective_assert": {
                    "action": "rpcutil.get_fact",
                    "nodes": ["emu-0", "emu-1"],
                    "properties": {"fact": "country"},
                    "expression": ["value", "=~", "^U"],
                }
            }
        ],
        **network.options(),
    )
    assert result(bad)["msg"] == "Not all nodes matched expression value =~ ^U"
    invalid = run(
        make_book,
        [{"mcollective_assert": {"action": "rpcutil.ping", "nodes": ["emu-0"], "expression": ["a"]}}],
        **network.options(),
    )
    assert invalid["report"]["playbook_error"].endswith("An expression should be 3 items exactly")


# -- shell --------------------------------------------------------------------------------------
def test_shell_appends_nodes_and_passes_cwd_and_environment(make_book, tmp_path):
    out = tmp_path / "out"
    script = tmp_path / "show.sh"
    script.write_text(f'#!/bin/sh\necho "$@|$HELLO|$LC_ALL|$(pwd)" > {out}\n')
    script.chmod(0o755)
    report = run(
        make_book,
        [
            {
                "shell": {
                    "command": str(script),
                    "cwd": str(tmp_path),
                    "nodes": ["node1", "node2"],
                    "environment": {"HELLO": "WORLD"},
                }
            }
        ],
    )
    assert report["report"]["success"]
    assert out.read_text().strip() == f"--nodes node1,node2|WORLD|C|{tmp_path}"
    run(make_book, [{"shell": {"command": str(script), "nodes": []}}])
    assert out.read_text().startswith("--nodes|")


def test_shell_exit_codes_and_output(make_book):
    report = run(make_book, [{"shell": {"command": "echo out; echo err >&2; exit 4"}}])
    assert result(report)["msg"] == "Command failed with code 4"
    logged = [e["msg"] for e in report["logs"]]
    assert "out" in logged and "err" in logged
    assert result(run(make_book, [{"shell": {"command": "true"}}]))["msg"] == "Command completed successfully"


def test_shell_timeout_kills_the_command(make_book):
    report = run(make_book, [{"shell": {"command": "sleep 30", "timeout": 1}}])
    assert (
        result(report)["msg"]
        == "Could not run command sleep 30: Timeout::Error: command did not finish within 1 seconds and was killed"
    )


def test_shell_validation(make_book):
    assert run(make_book, [{"shell": {}}])["report"]["playbook_error"].endswith("A command was not given")
    assert run(make_book, [{"shell": {"command": "true", "nodes": "a,b"}}])["report"]["playbook_error"].endswith(
        "Nodes were given but is not an array"
    )


def test_shell_missing_cwd_fails_the_task(make_book, tmp_path):
    report = run(make_book, [{"shell": {"command": "true", "cwd": str(tmp_path / "missing")}}])
    assert result(report)["msg"].startswith("Could not run command true: FileNotFoundError")


# -- webhook ------------------------------------------------------------------------------------
def test_webhook_get_merges_data_into_the_query(make_book, http):
    report = run(
        make_book,
        [{"webhook": {"uri": f"{http.url}/rspec?foo=bar", "method": "get", "data": {"rspec1": 1, "rspec2": 2}}}],
    )
    assert report["report"]["success"], result(report)
    assert http.requests[0].method == "GET"
    assert http.requests[0].path == "/rspec?foo=bar&rspec1=1&rspec2=2"


def test_webhook_post_sends_json_and_merges_headers_over_defaults(make_book, http):
    task = {
        "uri": f"{http.url}/hook",
        "headers": {"X-Token": "ho ho ho", "User-Agent": "mine"},
        "data": {"message": "hi", "nodes": ["a", "b"]},
    }
    report = run(make_book, [{"webhook": task}])
    request = http.requests[0]
    assert request.method == "POST" and request.json() == {"message": "hi", "nodes": ["a", "b"]}
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "mine"
    assert request.headers["X-Token"] == "ho ho ho"
    assert re.fullmatch(r"[0-9a-f-]{36}", request.headers["X-Choria-Request-ID"])
    assert (
        result(report)["msg"]
        == f"Successfully sent POST request to webhook {http.url}/hook with id {request.headers['X-Choria-Request-ID']}"
    )


@pytest.mark.parametrize("status, success", [(200, True), (201, True), (404, False), (500, False)])
def test_webhook_status_codes(make_book, http, status, success):
    http.respond("/", status, "body text")
    report = run(make_book, [{"webhook": {"uri": f"{http.url}/x"}}])
    assert report["report"]["success"] is success
    if not success:
        request_id = http.requests[0].headers["X-Choria-Request-ID"]
        assert (
            result(report)["msg"]
            == f"Failed to send POST request to webhook {http.url}/x with id {request_id}: {status}: body text"
        )


def test_webhook_new_request_id_on_every_try(make_book, http):
    http.respond("/", 500, "no")
    run(make_book, [{"webhook": {"uri": f"{http.url}/x", "tries": 3, "try_sleep": 0}}])
    ids = [r.headers["X-Choria-Request-ID"] for r in http.requests]
    assert len(ids) == 3 and len(set(ids)) == 3


def test_webhook_validation_and_verify_ssl_values(make_book, http):
    assert run(make_book, [{"webhook": {}}])["report"]["playbook_error"].endswith("A uri is required")
    assert run(make_book, [{"webhook": {"uri": http.url, "method": "PUT"}}])["report"]["playbook_error"].endswith(
        "Only GET and POST is supported as methods"
    )
    assert [truthy(v) for v in ("1", "yes", "true", "y", "t", "0", "no", "false", "n", "f", True, False)] == [
        True
    ] * 5 + [False] * 5 + [True, False]


def test_webhook_connection_error_fails_the_task(make_book):
    from pbhelpers import free_port

    report = run(make_book, [{"webhook": {"uri": f"http://127.0.0.1:{free_port()}/x"}}])
    assert result(report)["msg"].startswith("Could not send POST to webhook http://127.0.0.1:")


# -- slack --------------------------------------------------------------------------------------
def test_slack_request_and_attachment(make_book, http):
    task = {
        "description": "Notify slack",
        "token": "xoxb-TOKEN",
        "channel": "#general",
        "text": "it *worked*",
        "color": "danger",
    }
    report = run(make_book, [{"slack": task}], slack_api=f"{http.url}/api")
    assert result(report)["msg"] == "Message submitted to slack channel #general"
    request = http.requests[0]
    assert request.method == "GET"
    assert request.path.startswith(
        "/api/chat.postMessage?token=xoxb-TOKEN&username=Choria&channel=%23general&icon_url=https%3A%2F%2Fchoria.io%2Fimg%2Fslack-48x48.png&attachments="
    )
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
    attachment = json.loads(query["attachments"][0])
    assert attachment == [
        {
            "fallback": "it *worked*",
            "color": "danger",
            "text": "it *worked*",
            "pretext": "Task: Notify slack",
            "mrkdwn_in": ["text"],
            "footer": "Choria Playbooks",
            "fields": [
                {"title": "user", "value": attachment[0]["fields"][0]["value"], "short": True},
                {"title": "playbook", "value": "test_playbook", "short": True},
            ],
        }
    ]
    assert attachment[0]["fields"][0]["value"].startswith("choria=")


def test_slack_pretext_uses_the_untemplated_description(make_book, http):
    task = {"description": "Notify {{{ metadata.name }}}", "token": "t", "channel": "c", "text": "x"}
    run(make_book, [{"slack": task}], slack_api=f"{http.url}/api")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(http.requests[0].path).query)
    assert json.loads(query["attachments"][0])[0]["pretext"] == "Task: Notify {{{ metadata.name }}}"


def test_slack_failure_needs_200_and_ok(make_book, http):
    http.respond("/api", 200, {"ok": False, "error": "invalid_auth"})
    report = run(
        make_book, [{"slack": {"token": "t", "channel": "#general", "text": "x"}}], slack_api=f"{http.url}/api"
    )
    assert result(report)["msg"] == "Failed to send message to slack channel #general: invalid_auth"


def test_slack_validation_order(make_book):
    assert run(make_book, [{"slack": {}}])["report"]["playbook_error"].endswith("A channel is required")
    assert run(make_book, [{"slack": {"channel": "c"}}])["report"]["playbook_error"].endswith(
        "Message text is required"
    )
    assert run(make_book, [{"slack": {"channel": "c", "text": "t"}}])["report"]["playbook_error"].endswith(
        "A bot token is required"
    )


# -- graphite_event -----------------------------------------------------------------------------
def test_graphite_event_posts_the_event_and_reuses_it_on_retries(make_book, http):
    http.respond("/events", 500, "down")
    task = {
        "what": "playbook event",
        "data": "app weather",
        "graphite": f"{http.url}/events/",
        "tags": ["weather", "deploy"],
        "tries": 2,
        "try_sleep": 0,
    }
    run(make_book, [{"graphite_event": task}])
    first, second = http.requests
    body = first.json()
    assert body["what"] == "playbook event" and body["tags"] == "weather,deploy" and body["data"] == "app weather"
    assert isinstance(body["when"], int)
    assert second.json() == body
    assert second.headers["X-Choria-Request-ID"] == first.headers["X-Choria-Request-ID"]


@pytest.mark.parametrize(
    "props, message",
    [
        ({}, "The 'what' property is required"),
        ({"what": "w"}, "The 'data' property is required"),
        ({"what": "w", "data": "d"}, "The 'graphite' property is required"),
        ({"what": "w", "data": "d", "graphite": "http://x", "tags": "a"}, "'tags' should be an array"),
        ({"what": "w", "data": "d", "graphite": "http://x", "headers": []}, "'headers' should be a hash"),
        ({"what": "w", "data": "d", "graphite": "ftp://x"}, "The graphite url should be either http or https"),
    ],
)
def test_graphite_event_validation(make_book, props, message):
    assert run(make_book, [{"graphite_event": props}])["report"]["playbook_error"].endswith(message)


# -- data -----------------------------------------------------------------------------------------
def test_data_task_write_and_delete(make_book):
    data = {
        "data_stores": {"mem": {"type": "memory"}},
        "tasks": [
            {"data": {"action": "write", "key": "mem/cluster", "value": "bravo"}},
            {"data": {"action": "delete", "key": "mem/cluster"}},
            {"data": {"action": "write", "key": "nostore/x", "value": 1}},
        ],
    }
    report = run(make_book, data)
    assert [t["msg"] for t in report["tasks"]] == [
        "Wrote value to mem/cluster",
        "Deleted data item mem/cluster",
        "Could not perform write on data nostore/x: RuntimeError: Unknown data store nostore",
    ]


@pytest.mark.parametrize(
    "props, message",
    [
        ({"action": "read", "key": "m/x"}, "Action should be one of delete or write"),
        ({"action": "write"}, "A key to act on is needed"),
        ({"action": "write", "key": "m/x"}, "A value is needed when writing"),
    ],
)
def test_data_task_validation(make_book, props, message):
    assert run(make_book, [{"data": props}])["report"]["playbook_error"].endswith(message)
