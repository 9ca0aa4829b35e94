"""The broker's rewrites, byte for byte, against go-choria's request/reply transformers."""

from __future__ import annotations

import json

import pytest

from choria_emulator.federation import (
    FederationError,
    collective_subject,
    federation_subject,
    reply_for_federation,
    request_for_collective,
)
from choria_emulator.protocol import Federation, Reply, Request, Transport
from choria_emulator.protocol.messages import decode_reply, decode_request, encode_reply, encode_request

CLIENT_REPLY = "mcollective.reply.37bdf08389145a56c13096c178802d3b.0123456789abcdef0123456789abcdef"


def federated_request(targets: list[str], reply_to: str | None = CLIENT_REPLY) -> tuple[Request, bytes]:
    request = Request(
        message="cGluZw==",
        senderid="client",
        callerid="choria=rip.mcollective",
        collective="mcollective",
        agent="discovery",
    )
    federation = Federation(request.requestid, "", targets)
    return request, encode_request(request, reply_to, "client", None, "nats://f:4222", federation=federation)


def test_subjects_of_a_network():
    assert federation_subject("east") == "choria.federation.east.federation"
    assert collective_subject("east") == "choria.federation.east.collective"


def test_client_request_carries_reply_to_in_transport_and_targets_in_federation():
    request, raw = federated_request(["mcollective.broadcast.agent.discovery"])
    headers = json.loads(raw)["headers"]
    assert headers["reply-to"] == CLIENT_REPLY
    assert headers["federation"] == {"req": request.requestid, "target": ["mcollective.broadcast.agent.discovery"]}


def test_request_transform_moves_reply_to_into_federation_header():
    request, raw = federated_request(["mcollective.node.a-1", "mcollective.node.b-2"])
    request_id, targets, out = request_for_collective(
        raw, "east", ("nats://f:4222", "east:choria_request_transformer", "nats://c:4222")
    )
    assert request_id == request.requestid
    assert targets == ["mcollective.node.a-1", "mcollective.node.b-2"]
    transport = Transport.decode(out)
    assert transport.reply_to == "choria.federation.east.collective"
    assert transport.federation is not None
    assert transport.federation.request_id == request.requestid
    assert transport.federation.reply_to == CLIENT_REPLY
    assert transport.federation.targets == []
    assert transport.seen_by[-1] == ["nats://f:4222", "east:choria_request_transformer", "nats://c:4222"]


def test_request_transform_keeps_the_secure_request_untouched():
    _, raw = federated_request(["mcollective.broadcast.agent.discovery"])
    _, _, out = request_for_collective(raw, "east")
    assert json.loads(out)["data"] == json.loads(raw)["data"]
    assert decode_request(out).request.message == "cGluZw=="


def test_request_transform_writes_headers_in_go_order():
    _, raw = federated_request(["mcollective.broadcast.agent.discovery"])
    _, _, out = request_for_collective(raw, "east", ("in", "p", "out"))
    assert list(json.loads(out)) == ["protocol", "data", "headers"]
    assert list(json.loads(out)["headers"]) == ["reply-to", "mc_sender", "seen-by", "federation"]
    assert list(json.loads(out)["headers"]["federation"]) == ["req", "reply-to"]


@pytest.mark.parametrize(
    ("targets", "reply_to", "message"),
    [
        ([], CLIENT_REPLY, "has no targets"),
        (["mcollective.broadcast.agent.discovery"], None, "has no reply-to"),
        ([">"], CLIENT_REPLY, "invalid target subject"),
        (["a.*.b"], CLIENT_REPLY, "invalid target subject"),
        (["has space"], CLIENT_REPLY, "invalid target subject"),
    ],
)
def test_request_transform_refuses_what_go_choria_refuses(targets, reply_to, message):
    _, raw = federated_request(targets, reply_to)
    with pytest.raises(FederationError, match=message):
        request_for_collective(raw, "east")


def test_unfederated_and_garbage_messages_are_refused():
    request = Request(message="x", senderid="c", callerid="choria=c", collective="mcollective", agent="discovery")
    plain = encode_request(request, CLIENT_REPLY, "c")
    with pytest.raises(FederationError, match="not federated"):
        request_for_collective(plain, "east")
    with pytest.raises(FederationError, match="not federated"):
        reply_for_federation(plain)
    for garbage in (
        b"",
        b"{",
        b"[]",
        b'{"protocol":"choria:transport:1"}',
        b'{"protocol":"other","data":"eA==","headers":{}}',
    ):
        with pytest.raises(FederationError):
            request_for_collective(garbage, "east")


def _federated_reply(request_id: str, reply_to: str) -> bytes:
    raw = encode_reply(
        Reply(message="pong", requestid=request_id, senderid="a-1", agent="discovery"), "a-1", "nats://c:4222"
    )
    obj = json.loads(raw)
    obj["headers"]["federation"] = {"req": request_id, "reply-to": reply_to}
    return json.dumps(obj).encode()


def test_reply_transform_unfederates_and_targets_the_client():
    raw = _federated_reply("0123456789abcdef0123456789abcdef", CLIENT_REPLY)
    request_id, reply_to, out = reply_for_federation(
        raw, ("nats://c:4222", "east:choria_reply_transformer", "nats://f:4222")
    )
    assert (request_id, reply_to) == ("0123456789abcdef0123456789abcdef", CLIENT_REPLY)
    decoded = decode_reply(out)  # hash still verifies: data untouched
    assert decoded.transport.federation is None
    assert decoded.sender == "a-1"
    assert decoded.reply.message == "pong"
    assert len(decoded.transport.seen_by) == 2


def test_reply_without_federation_reply_to_is_refused():
    raw = _federated_reply("0123456789abcdef0123456789abcdef", "")
    with pytest.raises(FederationError, match="no federation reply-to"):
        reply_for_federation(raw)
