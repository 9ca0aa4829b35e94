"""One request of a suite: ``emulated0#generate`` to the nodes, counted like the Go RPC client."""

from __future__ import annotations

from typing import Callable

from ..client import ChoriaClient, ReplyRecord, RequestOutcome, RequestSpec
from ..protocol import ProtocolError, RPCReply, RPCRequest
from .model import SuiteOptions, TestResult

AGENT = "emulated0"
ACTION = "generate"


def result_from_outcome(test: int, outcome: RequestOutcome, nodes: list[str]) -> TestResult:
    """Count a request the way the Go RPC client's stats do, one verdict per responder."""
    codes: dict[str, int] = {}  # replies to one request are mostly identical: decode each text once
    ok = failed = 0
    seen: set[str] = set()
    for sender, message in zip(outcome.senders, outcome.messages):
        if sender in seen:
            continue
        seen.add(sender)
        code = codes.get(message)
        if code is None:
            try:
                code = int(RPCReply.decode(message).statuscode)
            except ProtocolError:
                code = 5
            codes[message] = code
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
        times=list(outcome.elapsed),
    )


async def run_test(
    client: ChoriaClient,
    test: int,
    nodes: list[str],
    options: SuiteOptions,
    on_reply: Callable[[ReplyRecord], None] | None = None,
) -> TestResult:
    body = RPCRequest(AGENT, ACTION, {"size": options.size}).encode()
    spec = RequestSpec(
        AGENT,
        body,
        collective=options.collective,
        targets=tuple(nodes),
        directed=options.force_direct,
        timeout=options.timeout,
        federation=options.federation,
    )
    outcome = await client.request(spec, on_reply)
    return result_from_outcome(test, outcome, nodes)
