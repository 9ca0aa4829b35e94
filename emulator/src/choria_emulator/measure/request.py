"""One request of a suite: ``emulated0#generate`` to the nodes, counted like the Go RPC client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..client import ChoriaClient, ReplyRecord, RequestOutcome
from ..protocol import ProtocolError, RPCReply, RPCRequest
from .files import ns
from .stats import time_buckets

if TYPE_CHECKING:
    from .suite import SuiteOptions

AGENT = "emulated0"
ACTION = "generate"


@dataclass
class TestResult:
    """One request of the suite; durations and ``times`` in seconds since the first publish."""

    __test__ = False  # not a pytest class, despite the name

    test: int
    requestid: str
    discovered: int
    publish_duration: float
    request_duration: float
    ok: int
    failed: int
    noresponses: int
    unexpected: int
    responded: int
    times: list[float]

    @property
    def complete(self) -> bool:
        return self.ok == self.discovered and self.failed == 0

    @property
    def last_reply(self) -> float:
        return max(self.times) if self.times else 0.0

    def event_data(self, suite_id: str) -> dict[str, Any]:
        return {
            "suite_id": suite_id,
            "instance": self.test,
            "time_buckets": time_buckets(self.times),
            "discovered": self.discovered,
            "publish_duration": ns(self.publish_duration),
            "request_duration": ns(self.request_duration),
            "failed": self.failed,
            "ok": self.ok,
            "noresponses": self.noresponses,
            "unexpected": self.unexpected,
            "responded": self.responded,
        }


def result_from_outcome(test: int, outcome: RequestOutcome, nodes: list[str]) -> TestResult:
    """Count a request the way the Go RPC client's stats do, one verdict per responder."""
    codes: dict[str, int] = {}  # replies to one request are mostly identical: decode each text once
    ok = failed = 0
    seen: set[str] = set()
    for record in outcome.replies:
        if record.sender in seen:
            continue
        seen.add(record.sender)
        code = codes.get(record.message)
        if code is None:
            try:
                code = int(RPCReply.decode(record.message).statuscode)
            except ProtocolError:
                code = 5
            codes[record.message] = code
        if code == 0:
            ok += 1
        else:
            failed += 1
    return TestResult(
        test=test,
        requestid=outcome.requestid,
        discovered=len(nodes),
        publish_duration=outcome.publish_duration,
        request_duration=outcome.request_duration,
        ok=ok,
        failed=failed,
        noresponses=len(outcome.missing),
        unexpected=len(set(outcome.unexpected)),
        responded=len(seen),
        times=[r.elapsed for r in outcome.replies],
    )


async def run_test(client: ChoriaClient, test: int, nodes: list[str], options: SuiteOptions, on_reply: Callable[[ReplyRecord], None] | None = None) -> TestResult:
    body = RPCRequest(AGENT, ACTION, {"size": options.size}).encode()
    outcome = await client.request(
        AGENT,
        body,
        collective=options.collective,
        targets=nodes,
        directed=options.force_direct,
        timeout=options.timeout,
        on_reply=on_reply,
        federation=options.federation,
    )
    return result_from_outcome(test, outcome, nodes)
