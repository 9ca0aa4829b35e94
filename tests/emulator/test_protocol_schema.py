"""Our messages validate against go-choria's embedded v1 schemas; what they refuse, we refuse.

A Go daemon validates every request and secure request against these schemas and drops what
fails; our daemon decoder mirrors them (protocol.md §2.4), so each invalid variant below is
checked twice: the schema rejects it and :meth:`Request.decode` raises ``ProtocolError``.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from choria_emulator.protocol import (
    FactFilter,
    Filter,
    ProtocolError,
    Reply,
    Request,
    RPCRequest,
    SecureReply,
    SecureRequest,
    Transport,
)
from choria_emulator.protocol.messages import encode_reply, encode_request
from choria_emulator.protocol.transport import Federation

SCHEMAS = Path(__file__).parent / "fixtures" / "schemas"
REQUEST_ID = "a2b3c4d5e6f708192a3b4c5d6e7f8091"


def validator(name: str) -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(json.loads((SCHEMAS / f"{name}.json").read_text()))


def errors(name: str, document: object) -> list[str]:
    return [e.message for e in validator(name).iter_errors(document)]


def sample_requests() -> list[Request]:
    """Requests as our client builds them: every filter kind, both dialects."""
    base = dict(
        senderid="client",
        callerid="choria=rip.mcollective",
        collective="mcollective",
        requestid=REQUEST_ID,
        time=1574870400,
    )
    return [
        Request(message="cGluZw==", agent="discovery", **base),
        Request(message='"ping"', agent="discovery", filter=Filter(identity=["emu-1", "/^emu-2/"]), **base),
        Request(
            message=RPCRequest("emulated0", "generate", {"size": 10}).encode(),
            agent="emulated0",
            ttl=30,
            filter=Filter(
                fact=[FactFilter.parse("country=mt"), FactFilter.parse("cpus>=2"), FactFilter.parse("os.family=/deb/")],
                cf_class=["apache", "/mysql/"],
                agent=["emulated0"],
                identity=["emu-1"],
                compound=[[{"expr": 'with("apache") and fact("country") == "mt"'}]],
            ),
            **base,
        ),
        Request(
            message=json.dumps(
                {
                    "agent": "rpcutil",
                    "action": "ping",
                    "caller": "choria=rip.mcollective",
                    "data": {"process_results": True},
                }
            ),
            agent="rpcutil",
            **base,
        ),
    ]


@pytest.mark.parametrize(
    "request_", sample_requests(), ids=["go-discovery", "ruby-discovery", "rpc-all-filters", "ruby-rpc"]
)
def test_our_requests_validate_against_the_request_schema(request_: Request):
    assert errors("request", json.loads(request_.encode())) == []


def test_insecure_secure_request_validates():
    for request in sample_requests():
        assert errors("secure_request", json.loads(SecureRequest(request.encode()).encode())) == []


def test_transport_of_a_request_and_of_a_reply_validate():
    request = sample_requests()[0]
    federation = Federation(REQUEST_ID, "mcollective.reply.x." + REQUEST_ID, ["mcollective.node.emu-1"])
    for raw in (
        encode_request(request, "mcollective.reply.x", "client", seen_by_url="nats://127.0.0.1:4222"),
        encode_request(request, None, "client", federation=federation),
        encode_reply(Reply("pong", REQUEST_ID, "emu-1", "discovery", 1), "emu-1", seen_by_url="nats://127.0.0.1:4222"),
    ):
        assert errors("transport", json.loads(raw)) == []


def test_reply_and_secure_reply_validate():
    reply = Reply('{"statuscode":0,"statusmsg":"OK","data":{}}', REQUEST_ID, "emu-1", "emulated0", 1574870400)
    assert errors("reply", json.loads(reply.encode())) == []
    assert errors("secure_reply", json.loads(SecureReply.for_message(reply.encode()).encode())) == []


def test_federation_header_uses_target_like_go_and_reads_targets_like_the_schema():
    encoded = Federation(REQUEST_ID, "r", ["a"]).to_dict()
    assert encoded == {"req": REQUEST_ID, "reply-to": "r", "target": ["a"]}
    assert Federation.from_dict({"req": REQUEST_ID, "reply-to": "r", "targets": ["b"]}).targets == ["b"]


def test_the_package_ships_the_same_schemas_go_choria_embeds():
    shipped = resources.files("choria_emulator.protocol") / "schemas"
    for fixture in SCHEMAS.glob("*.json"):
        assert json.loads((shipped / fixture.name).read_text()) == json.loads(fixture.read_text()), fixture.name


# ---- invalid requests: the schema and our decoder both refuse them --------------------------------


def valid_request() -> dict:
    return json.loads(sample_requests()[2].encode())


def mutate(path: str, value: object) -> dict:
    document = copy.deepcopy(valid_request())
    *parents, last = path.split(".")
    node = document
    for key in parents:
        node = node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return document


INVALID_REQUESTS = {
    "requestid-31-chars": ("envelope.requestid", REQUEST_ID[:31]),
    "requestid-33-chars": ("envelope.requestid", REQUEST_ID + "0"),
    "ttl-below-30": ("envelope.ttl", 29),
    "ttl-as-string": ("envelope.ttl", "60"),
    "ttl-as-float": ("envelope.ttl", 60.0),
    "time-as-string": ("envelope.time", "1574870400"),
    "no-senderid": ("envelope.senderid", KeyError),
    "empty-callerid": ("envelope.callerid", ""),
    "empty-collective": ("envelope.collective", ""),
    "empty-agent": ("envelope.agent", ""),
    "empty-message": ("message", ""),
    "wrong-protocol": ("protocol", "choria:request:2"),
    "no-filter": ("envelope.filter", KeyError),
    "filter-without-fact": ("envelope.filter.fact", KeyError),
    "filter-without-cf_class": ("envelope.filter.cf_class", KeyError),
    "filter-without-identity": ("envelope.filter.identity", KeyError),
    "filter-without-compound": ("envelope.filter.compound", KeyError),
    "identity-not-a-list": ("envelope.filter.identity", "emu-1"),
    "identity-of-numbers": ("envelope.filter.identity", [1]),
    "agent-null": ("envelope.filter.agent", None),
    "compound-of-strings-published-schema": ("envelope.filter.compound", ['with("apache")']),
    "compound-item-of-strings": ("envelope.filter.compound", [["with"]]),
    "fact-operator-single-equals": ("envelope.filter.fact", [{"fact": "a", "operator": "=", "value": "b"}]),
    "fact-empty-value": ("envelope.filter.fact", [{"fact": "a", "operator": "==", "value": ""}]),
    "fact-empty-name": ("envelope.filter.fact", [{"fact": "", "operator": "==", "value": "b"}]),
    "fact-without-operator": ("envelope.filter.fact", [{"fact": "a", "value": "b"}]),
}


@pytest.mark.parametrize("name", sorted(INVALID_REQUESTS))
def test_invalid_request_is_refused_by_schema_and_decoder(name: str):
    document = mutate(*INVALID_REQUESTS[name])
    assert errors("request", document), f"schema accepted {name}"
    with pytest.raises(ProtocolError):
        Request.decode(json.dumps(document))


def test_empty_senderid_is_allowed_by_schema_and_decoder():
    document = mutate("envelope.senderid", "")
    assert errors("request", document) == []
    assert Request.decode(json.dumps(document)).senderid == ""


def test_compound_values_must_be_strings_like_gos_map_of_strings():
    """The schema allows any object; Go's json.Unmarshal into map[string]string does not."""
    document = mutate("envelope.filter.compound", [[{"expr": 1}]])
    assert errors("request", document) == []
    with pytest.raises(ProtocolError, match="compound"):
        Request.decode(json.dumps(document))


INVALID_SECURE = {
    "empty-message": ("message", ""),
    "empty-signature": ("signature", ""),
    "empty-pubcert": ("pubcert", ""),
    "no-pubcert": ("pubcert", KeyError),
    "wrong-protocol": ("protocol", "choria:secure:reply:1"),
}


@pytest.mark.parametrize("name", sorted(INVALID_SECURE))
def test_invalid_secure_request_is_refused_by_schema_and_decoder(name: str):
    document = json.loads(SecureRequest(sample_requests()[0].encode()).encode())
    key, value = INVALID_SECURE[name]
    if value is KeyError:
        del document[key]
    else:
        document[key] = value
    assert errors("secure_request", document)
    with pytest.raises(ProtocolError):
        SecureRequest.decode(json.dumps(document))


def test_transport_data_must_be_base64():
    with pytest.raises(ProtocolError, match="base64"):
        Transport.decode('{"protocol":"choria:transport:1","data":"not base64!","headers":{}}')
