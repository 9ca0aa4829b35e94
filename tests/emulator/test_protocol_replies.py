"""The daemon's fast reply encoder writes exactly what the protocol layer writes, and decoding
never fails with anything but ProtocolError, whatever bytes arrive."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import pytest

from choria_emulator.daemon.replies import ReplyTemplate, go_string, sender_headers
from choria_emulator.daemon.requests import MALFORMED, OK
from choria_emulator.daemon.requests import decode as daemon_decode
from choria_emulator.protocol import ProtocolError, Reply, Request, RPCReply, RPCRequest, gojson
from choria_emulator.protocol.messages import decode_reply, decode_request, encode_reply

VECTORS = Path(__file__).parent / "fixtures" / "protocol"
REQUEST_ID = "a2b3c4d5e6f708192a3b4c5d6e7f8091"
NOW = 1574870400
URL = "nats://127.0.0.1:4222"

IDENTITIES = [
    "emu-1",
    "1-emu-5f3ab.choria.local",
    "nœud-ü.example",
    "a<b>&c",
    "日本.example",
    "emoji-\U0001f600",
    "line\u2028sep\u2029",
    'quote"back\\slash',
    "tab\tand\x01control",
    "del\x7f",
]
MESSAGES = [
    "pong",
    RPCReply(data={"message": "0123456789"}).encode(),
    RPCReply(data={"html": "<b>&amp;</b>", "text": "naïve — ok", "emoji": "\U0001f600"}, action="generate").encode(),
    RPCReply.error(2, "Unknown action x for agent emulated0").encode(),
]


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("message", MESSAGES, ids=["pong", "generate", "escapes", "error"])
@pytest.mark.parametrize("url", [URL, None], ids=["seen-by", "no-seen-by"])
def test_fast_reply_encoder_is_byte_identical_to_encode_reply(identity: str, message: str, url: str | None):
    fast = ReplyTemplate(message, REQUEST_ID, "emulated0").encode(
        go_string(identity), sender_headers(identity, url), NOW
    )
    slow = encode_reply(Reply(message, REQUEST_ID, identity, "emulated0", NOW), identity, seen_by_url=url)
    assert fast == slow
    assert decode_reply(fast).reply.senderid == identity


def test_fast_reply_encoder_reproduces_the_spec_reply_transport():
    identity = "1-emu-5f3ab.choria.local"
    fast = ReplyTemplate("pong", REQUEST_ID, "discovery").encode(
        go_string(identity), sender_headers(identity, URL), NOW
    )
    assert fast == (VECTORS / "discovery_reply_transport.json").read_bytes()


@pytest.mark.parametrize("text", IDENTITIES + ["", "plain ascii", "\x00\x1f"])
def test_go_string_is_gojson_of_a_string(text: str):
    assert go_string(text) == gojson.dumps(text)


# ---- robustness: anything from the wire is a ProtocolError or a request ----------------------------


def valid_transport() -> bytes:
    return (VECTORS / "discovery_transport.json").read_bytes()


def wrap(request_json: str) -> bytes:
    secure = json.dumps(
        {"protocol": "choria:secure:request:1", "message": request_json, "signature": "insecure", "pubcert": "insecure"}
    )
    return json.dumps(
        {
            "protocol": "choria:transport:1",
            "data": base64.b64encode(secure.encode()).decode(),
            "headers": {"reply-to": "r"},
        }
    ).encode()


def mutations(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    base = valid_transport()
    inner = Request.decode((VECTORS / "discovery_request.json").read_bytes()).encode()
    cases: list[bytes] = []
    for _ in range(count):
        kind = rng.randrange(5)
        if kind == 0:
            cases.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))))
        elif kind == 1:
            data = bytearray(base)
            for _ in range(rng.randrange(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            cases.append(bytes(data))
        elif kind == 2:
            cases.append(base[: rng.randrange(len(base))])
        elif kind == 3:
            text = list(inner)
            for _ in range(rng.randrange(1, 6)):
                text[rng.randrange(len(text))] = chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x80, 0x3000)]))
            cases.append(wrap("".join(text)))
        else:
            cases.append(wrap(inner[: rng.randrange(len(inner))]))
    return cases


NASTY = {
    "deep-json-nesting": b"[" * 100_000 + b"]" * 100_000,
    "deep-nesting-in-request": wrap('{"protocol":"choria:request:1","message":' + "[" * 50_000 + "]" * 50_000 + "}"),
    "huge-integers": wrap(
        Request.decode((VECTORS / "discovery_request.json").read_bytes())
        .encode()
        .replace('"ttl":60', '"ttl":' + "9" * 5000)
    ),
    "nan-literal": wrap('{"protocol":"choria:request:1","message":"x","envelope":{"ttl":NaN}}'),
    "invalid-utf8": b'{"protocol":"choria:transport:1","data":"\xff\xfe","headers":{}}',
    "data-not-string": b'{"protocol":"choria:transport:1","data":[1],"headers":{}}',
    "headers-not-object": b'{"protocol":"choria:transport:1","data":"e30=","headers":[]}',
    "secure-not-object": b'{"protocol":"choria:transport:1","data":"WzFd","headers":{}}',
    "empty": b"",
    "json-null": b"null",
}


@pytest.mark.parametrize("name", sorted(NASTY))
def test_nasty_payloads_are_protocol_errors(name: str):
    with pytest.raises(ProtocolError):
        decode_request(NASTY[name])
    assert daemon_decode(NASTY[name], None).status == MALFORMED


def test_three_thousand_mutated_messages_never_raise_anything_else():
    decoded = 0
    for raw in mutations(seed=20191127, count=3000):
        try:
            incoming = decode_request(raw)
            decoded += 1
            RPCRequest.decode(incoming.request.payload)
        except ProtocolError:
            continue
    assert 0 < decoded < 3000  # some mutations still decode; none raised anything but ProtocolError


def test_lone_surrogate_escapes_become_replacement_characters_like_go():
    request_json = Request.decode((VECTORS / "discovery_request.json").read_bytes()).encode()
    evil = request_json.replace(REQUEST_ID, "\\ud800" * 32)
    incoming = daemon_decode(wrap(evil), None)
    assert incoming.status == OK
    assert incoming.request.requestid == "\ufffd" * 32
    raw = ReplyTemplate("pong", incoming.request.requestid, "discovery").encode(
        go_string("emu-1"), sender_headers("emu-1", URL), NOW
    )
    assert decode_reply(raw).reply.requestid == "\ufffd" * 32
