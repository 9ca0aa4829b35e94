"""``mcollective``: one RPC request to a list of nodes, with batching, summaries and ``assert`` (§2.2, §5.1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import jgrep
from ..aggregate import summarize
from ..errors import describe
from ..rubyfmt import inspect, to_json
from ..uses import validate_request
from ..yamlload import plain
from .base import Task, TaskOutcome

if TYPE_CHECKING:
    from ...client import RPCResult


def rpc_properties(properties: Any) -> dict[str, Any]:
    """Action inputs with Ruby symbol keys (``:message``) turned into plain names."""
    if not isinstance(properties, dict):
        return {}
    return {str(plain(k)).lstrip(":"): plain(v) for k, v in properties.items()}


class McollectiveTask(Task):
    type_name = "mcollective"

    def from_hash(self, data: dict[str, Any]) -> McollectiveTask:
        self.nodes = data.get("nodes", [])
        action = str(data.get("action") or "")
        self.agent, _dot, self.action = action.partition(".")
        self.batch_size = data.get("batch_size")
        self.batch_sleep_time = data.get("batch_sleep_time")
        self.properties = rpc_properties(data.get("properties", {}))
        self.post = list(data.get("post") or [])
        self.log_replies = not data.get("silent", False)
        self.assertion = data.get("assert")
        self._assertion_node: jgrep.Node | None = None
        self.last_result: RPCResult | None = None  # the last request's replies and stats (None before it runs)
        return self

    def validate_configuration(self) -> None:
        if not isinstance(self.nodes, list):
            raise self.fail("Nodes have to be an array")
        if not self.nodes:
            raise self.fail("Nodes need to be supplied, refusing to run against empty node list")
        if self.assertion:
            try:
                self._assertion_node = jgrep.parse(self.assertion)
            except jgrep.JGrepError as exc:
                raise self.fail(
                    f"Could not parse the assertion {self.assertion}: {str(exc).replace(chr(10), ' ')}"
                ) from None

    def run(self) -> TaskOutcome:
        self.log.info(f"Starting request for {self.agent}#{self.action} against {len(self.nodes)} nodes")
        try:
            validate_request(self.agent, self.action, self.properties, self.playbook.services.ddl_path)
            batch = int(self.batch_size) if self.batch_size else None
            result = self.playbook.services.rpc(
                self.agent,
                self.action,
                self.properties,
                [str(n) for n in self.nodes],
                batch,
                float(self.batch_sleep_time or 0),
            )
        except Exception as exc:  # upstream turns any client error into a failed task with this message
            msg = f"Could not create request for {self.agent}#{self.action}: {describe(exc)}"
            self.log.debug(msg)
            return False, msg, []
        self.last_result = result
        for reply in result.replies:
            self._log_reply(reply)
        self._log_results(result)
        return self.run_result(result)

    # -- outcome ----------------------------------------------------------------------------
    def request_success(self, result: Any) -> bool:
        stats = result.stats
        return stats.failed == 0 and stats.ok > 0 and not result.missing

    def run_result(self, result: Any) -> TaskOutcome:
        replies = [
            {k: reply.get(k) for k in ("agent", "action", "sender", "statuscode", "statusmsg", "data")}
            | {"requestid": result.requestid}
            for reply in result.replies
        ]
        success = self.request_success(result)
        assert_failed = -1
        if self.assertion and success:
            passed, assert_failed = self.assert_replies(replies)
            if passed:
                self.log.info(f"Assertion '{self.assertion}' passed on all {len(replies)} nodes")
            else:
                self.log.warn(f"Assertion '{self.assertion}' failed on {assert_failed}/{len(replies)} nodes")
                success = False
        if success:
            msg = self.summary_message(replies) if "summarize" in self.post else None
            return True, msg or self.success_message(result), replies
        if assert_failed > -1:
            request = f"request {result.requestid} for {self.agent}#{self.action}"
            return False, f"Failed {request} assertion failed on {assert_failed} node(s)", replies
        failed = result.stats.failed + len(result.missing)
        return (
            False,
            f"Failed request {result.requestid} for {self.agent}#{self.action} on {failed} failed node(s)",
            replies,
        )

    def assert_replies(self, replies: list[dict[str, Any]]) -> tuple[bool, int]:
        node = self._assertion_node or jgrep.parse(self.assertion)
        documents = [reply.get("data") for reply in replies]
        matched = jgrep.jgrep(documents, node)
        return len(matched) == len(documents), len(documents) - len(matched)

    def success_message(self, result: Any) -> str:
        total = result.stats.request_duration + result.stats.discovery_duration
        request = f"request {result.requestid} for {self.agent}#{self.action}"
        return f"Successful {request} in {total:0.2f}s against {result.stats.ok} node(s)"

    def summary_message(self, replies: list[dict[str, Any]]) -> str | None:
        summary = summarize(self.agent, self.action, replies)
        if not summary:
            return None
        return f"Summary for {self.description}: {to_json(summary)}"

    # -- logging ----------------------------------------------------------------------------
    def _log_reply(self, reply: dict[str, Any]) -> None:
        if reply.get("statuscode") == 0:
            if self.log_replies:
                self.log.info(f"{reply['sender']} {self.agent}#{self.action} success: {inspect(reply.get('data'))}")
        else:
            self.log.warn(f"{reply['sender']} {self.agent}#{self.action} failure: {inspect(reply.get('data'))}")

    def _log_results(self, result: Any) -> None:
        if self.request_success(result):
            self.log.debug(self.success_message(result))
            return
        self.log.warn(
            f"Failed request {result.requestid} for {self.agent}#{self.action} in {result.stats.request_duration:0.2f}s"
        )
        if result.missing:
            self.log.warn(f"No responses from: {', '.join(result.missing)}")
        for reply in result.replies:
            if reply.get("statuscode", 0) > 0:
                self.log.warn(f"Failed result from {reply['sender']}: {reply.get('statusmsg')}")

    def to_execution_result(self, outcome: TaskOutcome) -> dict[str, Any]:
        hosts: dict[str, Any] = {}
        for reply in outcome[2]:
            entry: dict[str, Any] = {"value": reply, "type": "mcollective", "fail_ok": bool(self.fail_ok)}
            if reply.get("statuscode") != 0:
                entry["error"] = {
                    "msg": reply.get("statusmsg"),
                    "kind": "choria.playbook/taskerror",
                    "details": {"agent": self.agent, "action": self.action, "issue_code": reply.get("statuscode")},
                }
            hosts[reply["sender"]] = entry
        for node in self.last_result.missing if self.last_result is not None else []:
            hosts[node] = {
                "value": {},
                "type": "mcollective",
                "fail_ok": bool(self.fail_ok),
                "error": {
                    "msg": f"No response from node {node}",
                    "kind": "choria.playbook/taskerror",
                    "details": {"agent": self.agent, "action": self.action, "issue_code": 1},
                },
            }
        return hosts
