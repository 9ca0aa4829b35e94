"""protocol.md §2.8 byte for byte: every layer of a Go client discovery and an RPC round trip.

The fixtures are the literal JSON of the spec; we build the same messages from their values
and compare bytes, then decode the fixtures and check every field survives.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from choria_emulator.protocol import Filter, Reply, Request, RPCReply, RPCRequest, SecureReply, SecureRequest, Transport
from choria_emulator.protocol.messages import decode_reply, decode_request, encode_reply, encode_request, reply_subject
from choria_emulator.protocol.request import decode_payload
from choria_emulator.protocol.rpc import parse_reply_payload
from choria_emulator.protocol.secure import message_hash

VECTORS = Path(__file__).parent / "fixtures" / "protocol"
CLIENT = "emulator_client"
CALLER = "choria=rip.mcollective"
REQUEST_ID = "a2b3c4d5e6f708192a3b4c5d6e7f8091"
DAEMON = "1-emu-5f3ab.choria.local"
TIME = 1574870400
NATS = "nats://127.0.0.1:4222"


def vector(name: str) -> bytes:
    return (VECTORS / f"{name}.json").read_bytes()


def discovery_request() -> Request:
    return Request(
        message="cGluZw==",
        senderid=CLIENT,
        callerid=CALLER,
        collective="mcollective",
        agent="discovery",
        requestid=REQUEST_ID,
        ttl=60,
        time=TIME,
        filter=Filter(agent=["emulated0"]),
    )


def generate_request() -> Request:
    body = RPCRequest("emulated0", "generate", {"size": 10}).encode()
    request = discovery_request()
    request.message, request.agent = body, "emulated0"
    return request


def discovery_reply() -> Reply:
    return Reply(message="pong", requestid=REQUEST_ID, senderid=DAEMON, agent="discovery", time=TIME)


def generate_reply() -> Reply:
    body = RPCReply(data={"message": "0123456789"}).encode()
    return Reply(message=body, requestid=REQUEST_ID, senderid=DAEMON, agent="emulated0", time=TIME)


# ---- encoding: our bytes are the spec's bytes ----------------------------------------------------


def test_request_encodes_to_the_spec_vector():
    assert discovery_request().encode().encode() == vector("discovery_request")


def test_insecure_secure_request_encodes_to_the_spec_vector():
    secure = SecureRequest(discovery_request().encode())
    assert secure.encode() == vector("discovery_secure_request")


def test_request_transport_encodes_to_the_spec_vector():
    reply_to = reply_subject("mcollective", CALLER, REQUEST_ID)
    assert encode_request(discovery_request(), reply_to, CLIENT, seen_by_url=NATS) == vector("discovery_transport")


def test_reply_encodes_to_the_spec_vector():
    assert discovery_reply().encode().encode() == vector("discovery_reply")


def test_secure_reply_encodes_to_the_spec_vector():
    assert SecureReply.for_message(discovery_reply().encode()).encode() == vector("discovery_secure_reply")


def test_reply_transport_encodes_to_the_spec_vector():
    assert encode_reply(discovery_reply(), DAEMON, seen_by_url=NATS) == vector("discovery_reply_transport")


def test_rpc_request_and_reply_encode_to_the_spec_vectors():
    assert generate_request().encode().encode() == vector("generate_request")
    assert generate_reply().encode().encode() == vector("generate_reply")


def test_discovery_reply_hash_is_the_spec_value():
    assert message_hash(vector("discovery_reply").decode()) == "wS57Gi/yiQqMiV1BuxsRmW9lMXRT0Kc74cDA4/zm7xc="


def test_generate_reply_hash_is_the_spec_value():
    assert message_hash(vector("generate_reply").decode()) == "9uzaJlZnCfzxChH0aQeAipT/Eqp6SAaYPIQ+MVq0st0="


def test_secure_message_is_raw_json_text_not_base64():
    """The schema says "Base64 encoded"; both Go and Ruby embed the JSON text (protocol.md §2.2)."""
    secure = json.loads(vector("discovery_secure_request"))
    assert secure["message"] == vector("discovery_request").decode()


# ---- decoding: the spec vectors come back as the same values ----------------------------------


def test_request_transport_decodes_to_every_layer():
    incoming = decode_request(vector("discovery_transport"))
    assert incoming.transport.reply_to == "mcollective.reply.37bdf08389145a56c13096c178802d3b." + REQUEST_ID
    assert incoming.transport.sender == CLIENT
    assert incoming.transport.seen_by == [[NATS, CLIENT, NATS]]
    assert incoming.transport.data == vector("discovery_secure_request")
    assert incoming.secure.signature == incoming.secure.pubcert == "insecure"
    assert incoming.request == discovery_request()
    assert incoming.request.payload == b"ping"


def test_reply_transport_decodes_and_its_hash_verifies():
    incoming = decode_reply(vector("discovery_reply_transport"))
    assert incoming.sender == DAEMON
    assert incoming.transport.reply_to is None
    assert incoming.secure.verify()
    assert incoming.reply == discovery_reply()


def test_reply_with_a_tampered_message_fails_the_hash_check():
    secure = json.loads(vector("discovery_secure_reply"))
    secure["message"] = secure["message"].replace("pong", "gnop")
    transport = Transport(json.dumps(secure, separators=(",", ":")).encode(), sender=DAEMON).encode()
    with pytest.raises(ValueError, match="hash"):
        decode_reply(transport)
    assert decode_reply(transport, verify_hash=False).reply.message == "gnop"


def test_rpc_vectors_decode_to_their_bodies():
    request = Request.decode(vector("generate_request"))
    body = RPCRequest.decode(request.payload)
    assert (body.agent, body.action, body.data) == ("emulated0", "generate", {"size": 10})
    reply = RPCReply.decode(Reply.decode(vector("generate_reply")).message)
    assert (reply.statuscode, reply.statusmsg, reply.data) == (0, "OK", {"message": "0123456789"})


# ---- the two client dialects (protocol.md §2.6, §2.7) ---------------------------------------------


def test_go_dialect_discovery_payload_is_base64_ping():
    assert discovery_request().payload == b"ping"
    assert decode_payload("cGluZw==") == b"ping"


def test_ruby_dialect_discovery_payload_is_json_dumped_ping_with_quotes():
    request = discovery_request()
    request.message = json.dumps("ping")
    assert request.message == '"ping"'
    assert request.payload == b'"ping"'  # not base64: passed through raw, still contains "ping"
    assert Request.decode(request.encode()).payload == b'"ping"'


def test_go_dialect_rpc_body_is_raw_json_and_never_mistaken_for_base64():
    assert decode_payload('{"agent":"emulated0","action":"generate","data":{"size":10}}').startswith(b"{")


def test_ruby_dialect_rpc_body_carries_caller_and_process_results():
    body = json.dumps(
        {"agent": "emulated0", "action": "generate", "caller": CALLER, "data": {"size": 3, "process_results": True}}
    )
    parsed = RPCRequest.decode(decode_payload(body))
    assert parsed.caller == CALLER
    assert parsed.process_results is True
    assert parsed.data["size"] == 3
    assert RPCRequest.decode(body.replace("true", "false")).process_results is False


def test_go_client_body_has_no_caller():
    body = RPCRequest("emulated0", "generate", {"size": 10})
    assert json.loads(body.encode()) == {"agent": "emulated0", "action": "generate", "data": {"size": 10}}
    assert RPCRequest.decode(body.encode()).caller is None


def test_ruby_client_parses_reply_payloads_as_json_else_keeps_the_text():
    assert parse_reply_payload("pong") == "pong"
    assert parse_reply_payload('"pong"') == "pong"
    assert parse_reply_payload(generate_reply().message)["data"] == {"message": "0123456789"}


def test_go_html_escapes_survive_as_go_writes_them():
    """Go escapes < > & in JSON strings; hashes are over the exact embedded text."""
    reply = Reply(message="a<b>&c", requestid=REQUEST_ID, senderid=DAEMON, agent="discovery", time=TIME)
    text = reply.encode()
    assert '"message":"a\\u003cb\\u003e\\u0026c"' in text
    assert Reply.decode(text).message == "a<b>&c"
    secure = json.loads(base64.b64decode(json.loads(encode_reply(reply, DAEMON))["data"]))
    assert secure["hash"] == message_hash(text)
