"""Thousands of malformed messages never crash or stall the emulator, and its counters account for them.

Each phase publishes one family of bad input to broadcast and node subjects, waits until the
workers have counted every delivery, and checks what they were counted as. Afterwards every
instance still answers a ping.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
from choria_wire import apoll, stable_counters

from choria_emulator.client import ChoriaClient, ClientConfig, ping
from choria_emulator.protocol import Filter, Request, RPCReply
from choria_emulator.protocol.messages import decode_reply, reply_subject

INSTANCES = 20
BROADCAST = [
    "mcollective.broadcast.agent.discovery",
    "mcollective.broadcast.agent.emulated0",
    "mcollective.broadcast.agent.rpcutil",
]
NODE = "mcollective.node.fuzz-7"
SEED = 20171002

pytestmark = pytest.mark.slow


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def transport(data: Any, headers: Any = None) -> bytes:
    return json.dumps(
        {
            "protocol": "choria:transport:1",
            "data": data,
            "headers": {"mc_sender": "fuzz"} if headers is None else headers,
        }
    ).encode()


def secure(message: Any, signature: Any = "insecure", pubcert: Any = "insecure") -> str:
    return json.dumps(
        {"protocol": "choria:secure:request:1", "message": message, "signature": signature, "pubcert": pubcert}
    )


def envelope(**overrides: Any) -> dict[str, Any]:
    env = {
        "requestid": "a2b3c4d5e6f708192a3b4c5d6e7f8091",
        "senderid": "fuzz",
        "callerid": "choria=fuzz.mcollective",
        "collective": "mcollective",
        "agent": "discovery",
        "ttl": 60,
        "time": int(time.time()),
        "filter": {"fact": [], "cf_class": [], "agent": [], "identity": [], "compound": []},
    }
    for key, value in overrides.items():
        if value is KeyError:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def request_text(message: Any = "cGluZw==", **env: Any) -> str:
    return json.dumps({"protocol": "choria:request:1", "message": message, "envelope": envelope(**env)})


def wrapped(inner_request: str, reply_to: str | None = None) -> bytes:
    headers: dict[str, Any] = {"mc_sender": "fuzz"}
    if reply_to:
        headers["reply-to"] = reply_to
    return transport(b64(secure(inner_request)), headers)


WRONG_TYPES: list[Any] = [None, 0, -1, 1.5, True, "", [], [1], {}, {"a": 1}]  # wrong for every field


def protocol_garbage(rng: random.Random) -> Iterator[bytes]:
    """Messages that are not a valid Choria v1 request at the transport, secure or request layer."""
    for size in (0, 1, 2, 7, 64, 512, 4096):  # random bytes
        for _ in range(40):
            yield rng.randbytes(size)
    valid = wrapped(request_text(), "fuzz.reply")
    for _ in range(300):  # a valid request cut short anywhere is never valid JSON
        yield valid[: rng.randrange(len(valid))]
    for text in ("null", "[]", "{}", '"string"', "12", "true", "{", '{"protocol":', "\u00ff\u00fe", "ping", "cGluZw=="):
        yield text.encode()
    yield b"[" * 50_000 + b"]" * 50_000  # deep nesting
    yield b'{"a":' * 20_000 + b"1" + b"}" * 20_000
    for proto in ("choria:transport:2", "io.choria.protocol.v2.transport", "", None, 1):  # wrong protocol
        yield json.dumps({"protocol": proto, "data": b64(secure(request_text())), "headers": {}}).encode()
    for data in WRONG_TYPES + [
        "!!!not base64!!!",
        "cGluZw",
        "====",
        b64("not json"),
        b64("[]"),
        b64(json.dumps({"protocol": "x"})),
    ]:
        yield transport(data)
    for headers in (
        ["reply-to"],
        "x",
        1,
        {"reply-to": 5},
        {"mc_sender": []},
        {"seen-by": "x"},
        {"federation": 5},
        {"federation": {"target": "x"}},
    ):
        yield transport(b64(secure(request_text())), headers)
    for value in WRONG_TYPES:  # secure layer: wrong types in each field
        yield transport(
            b64(
                json.dumps(
                    {
                        "protocol": "choria:secure:request:1",
                        "message": value,
                        "signature": "insecure",
                        "pubcert": "insecure",
                    }
                )
            )
        )
        yield transport(b64(secure(request_text(), signature=value)))
        yield transport(b64(secure(request_text(), pubcert=value)))
    yield transport(b64(secure("not json at all")))
    yield transport(b64(secure(json.dumps({"protocol": "choria:reply:1", "message": "pong", "envelope": {}}))))
    wrong_for = {  # request layer: the schema's required keys, each missing or of a wrong JSON type
        "string": [None, 0, 1.5, True, [], {}],
        "integer": [None, 1.5, True, "60", [], {}],
        "object": [None, 0, "x", [], {"fact": []}],
    }
    for key, kind in (
        ("requestid", "string"),
        ("senderid", "string"),
        ("callerid", "string"),
        ("collective", "string"),
        ("agent", "string"),
        ("ttl", "integer"),
        ("time", "integer"),
        ("filter", "object"),
    ):
        yield wrapped(request_text(**{key: KeyError}))
        for value in wrong_for[kind]:
            yield wrapped(request_text(**{key: value}))
    for value in ("abc", "a" * 33, ""):
        yield wrapped(request_text(requestid=value))
    for ttl in (0, 29, -60):
        yield wrapped(request_text(ttl=ttl))
    for message in WRONG_TYPES:
        yield wrapped(request_text(message=message))
    for filt in (
        {"fact": [], "cf_class": []},
        {"fact": "x", "cf_class": [], "identity": [], "compound": []},
        {"fact": [{"fact": "a", "operator": "<>", "value": "1"}], "cf_class": [], "identity": [], "compound": []},
        {"fact": [1], "cf_class": [], "identity": [], "compound": []},
        {"fact": [], "cf_class": [1], "identity": [], "compound": []},
        {"fact": [], "cf_class": [], "identity": [None], "compound": []},
        {"fact": [], "cf_class": [], "identity": [], "compound": [], "agent": {"x": 1}},
    ):
        yield wrapped(request_text(filter=filt))


def valid_requests_with_garbage_inside(rng: random.Random, reply_to: str) -> Iterator[tuple[str, bytes, bool]]:
    """(agent, message, answers) for protocol-valid requests whose payload is nonsense."""
    garbage = [
        "",
        "{",
        "[]",
        "null",
        '{"agent":5}',
        '{"agent":"emulated0"}',
        '{"agent":"emulated0","action":7}',
        '{"agent":"emulated0","action":"generate","data":[]}',
        '{"agent":"emulated0","action":"generate","data":"x"}',
        '{"agent":"emulated0","action":"generate","data":{"size":"big"}}',
        '{"agent":"emulated0","action":"generate","data":{"size":-5}}',
        '{"agent":"emulated0","action":"generate","data":{"size":1e400}}',
        '{"agent":"emulated0","action":"nosuch","data":{}}',
        '{"agent":"rpcutil","action":"generate","data":{}}',
    ]
    garbage += [rng.randbytes(40).hex() for _ in range(10)]
    for text in garbage:
        if not text:
            continue  # an empty message is invalid at the request layer
        yield "emulated0", text, True
    for text in ("hello", "pong", "PING", b64("nothing"), "{}"):
        yield "discovery", text, False  # discovery stays silent unless the payload contains "ping"


def deliveries(subject: str, instances: int = INSTANCES) -> int:
    return 1 if ".node." in subject else instances


async def wait_for_total(emulator, total: int) -> dict[str, int]:
    return await apoll(
        lambda: (c := emulator.debug_vars()["counters"])["total"] >= total and c, timeout=120, what=f"total >= {total}"
    )


@pytest.fixture
async def fuzz_network(nats_server, emulator_factory):
    emulator = emulator_factory(nats_server.url, INSTANCES, "--workers", "2", name="fuzz")
    config = ClientConfig.load(servers=[nats_server.url], search_default_files=False, identity="fuzzer")
    async with ChoriaClient(config) as client:
        yield emulator, client


async def publish_all(nc, items: list[tuple[str, bytes]], instances: int = INSTANCES) -> int:
    """Publish everything; the number of deliveries to expect on a network of ``instances``."""
    count = 0
    for number, (subject, payload) in enumerate(items):
        await nc.publish(subject, payload)
        count += deliveries(subject, instances)
        if number % 200 == 0:
            await nc.flush()
    await nc.flush()
    return count


async def test_fuzz_never_crashes_or_stalls(fuzz_network):
    emulator, client = fuzz_network
    nc = client.nc
    rng = random.Random(SEED)
    start = await asyncio.to_thread(stable_counters, emulator)

    # phase 1: not Choria requests at all -> malformed, never validated, never answered
    garbage = list(protocol_garbage(rng))
    assert len(garbage) > 700
    items = [(rng.choice(BROADCAST + [NODE]), payload) for payload in garbage for _ in range(3)]
    expected = await publish_all(nc, items)
    after1 = await wait_for_total(emulator, start["total"] + expected)
    after1 = await asyncio.to_thread(stable_counters, emulator)
    assert after1["total"] - start["total"] == expected
    assert after1["malformed"] - start["malformed"] == expected
    assert after1["validated"] == start["validated"] and after1["replies"] == start["replies"]

    # phase 2: huge messages near max_payload, garbage and valid-transport-with-garbage-inside
    max_payload = nc.max_payload
    huge = [
        rng.randbytes(max_payload - 64),
        b"{" + b" " * (max_payload - 128) + b"}",
        transport(b64(rng.randbytes((max_payload - 512) * 3 // 4))),
        transport(b64(secure("x" * ((max_payload - 1024) * 3 // 4)))),
    ]
    assert all(len(p) <= max_payload for p in huge)
    expected = await publish_all(nc, [(subject, payload) for payload in huge for subject in (BROADCAST[0], NODE)])
    after2 = await wait_for_total(emulator, after1["total"] + expected)
    after2 = await asyncio.to_thread(stable_counters, emulator)
    assert after2["malformed"] - after1["malformed"] == expected

    # phase 3: valid requests with nonsense payloads -> validated; RPC gets a status 4/2 reply, discovery nothing
    replies: list[Any] = []
    reply_to = reply_subject("mcollective", "choria=fuzz.mcollective", "f" * 32)

    async def on_reply(msg: Any) -> None:
        replies.append(msg.data)

    sub = await nc.subscribe(reply_to, cb=on_reply)
    items, answering = [], 0
    for agent, message, answers in valid_requests_with_garbage_inside(rng, reply_to):
        req = Request(message, "fuzz", "choria=fuzz.mcollective", "mcollective", agent, filter=Filter())
        payload = wrapped(req.encode(), reply_to)
        items.append((f"mcollective.broadcast.agent.{agent}", payload))
        answering += INSTANCES if answers else 0
    expected = await publish_all(nc, items)
    after3 = await wait_for_total(emulator, after2["total"] + expected)
    await apoll(lambda: len(replies) >= answering, timeout=60, what=f"{answering} error replies")
    after3 = await asyncio.to_thread(stable_counters, emulator)
    assert after3["validated"] - after2["validated"] == expected
    assert after3["malformed"] == after2["malformed"]
    assert after3["replies"] - after2["replies"] == answering == len(replies)
    codes = {RPCReply.decode(decode_reply(r).reply.message).statuscode for r in replies}
    assert codes <= {2, 4} and 4 in codes
    await sub.unsubscribe()

    # phase 4: filters a daemon cannot evaluate sensibly -> dropped (filtered or malformed), never fatal
    odd_filters = [
        {"identity": ["/(/"]},
        {"identity": ["/[z-a]/"]},
        {"agent": ["/(?P<x/"]},
        {"cf_class": ["/*/"]},
        {"fact": [{"fact": "a.b.c.0.1", "operator": "=~", "value": "/(/"}]},
        {"fact": [{"fact": "x", "operator": ">=", "value": "1e999"}]},
        {"compound": [[{"expr": "((("}]]},
        {"compound": [[{"nope": 1}]]},
        {"compound": [["text"]]},
        {"compound": ["flat"]},
        {"compound": [[{"expr": "fact('x') > 1 and with('/(/')"}]]},
    ]
    items = []
    for raw in odd_filters:
        filt = {"fact": [], "cf_class": [], "agent": [], "identity": [], "compound": [], **raw}
        items.append((BROADCAST[0], wrapped(request_text(filter=filt), reply_to)))
    expected = await publish_all(nc, items)
    after4 = await wait_for_total(emulator, after3["total"] + expected)
    after4 = await asyncio.to_thread(stable_counters, emulator)
    dropped = (after4["malformed"] - after3["malformed"]) + (after4["filtered"] - after3["filtered"])
    assert dropped + (after4["passed"] - after3["passed"]) == expected
    assert after4["total"] - after3["total"] == expected

    # afterwards: still connected, nothing restarted, every instance answers
    vars_ = emulator.debug_vars()
    assert vars_["connected"] == INSTANCES
    assert [w["restarts"] for w in vars_["workers"]] == [0, 0]
    result = await ping(client, timeout=15, expect=INSTANCES)
    assert sorted(result.times) == sorted(f"fuzz-{i}" for i in range(INSTANCES))
    assert "Traceback" not in emulator.log()


async def test_forged_requests_to_secure_daemons_are_unvalidated(nats_server, emulator_factory, tmp_path):
    """With --secure, every well-formed request that is not properly signed counts as unvalidated, never answered."""
    from choria_pki import CertAuthority

    from choria_emulator.protocol.security import X509Signer

    ca = CertAuthority.create(tmp_path / "ca")
    other = CertAuthority.create(tmp_path / "other", name="Other CA")
    rip = ca.issue(tmp_path, "rip.mcollective")
    stranger = other.issue(tmp_path / "other-certs", "rip.mcollective")
    emulator = await asyncio.to_thread(
        emulator_factory, nats_server.url, 10, "--workers", "2", "--secure", "--ca", str(ca.cert), name="sfuzz"
    )
    config = ClientConfig.load(servers=[nats_server.url], search_default_files=False, identity="fuzzer")
    rng = random.Random(SEED)
    signer, foreign = X509Signer(rip.cert, rip.key), X509Signer(stranger.cert, stranger.key)
    reply_to = reply_subject("mcollective", "choria=rip.mcollective", "e" * 32)

    def signed(message: str, signature: str, pubcert: str) -> bytes:
        return transport(b64(secure(message, signature, pubcert)), {"mc_sender": "fuzz", "reply-to": reply_to})

    forged: list[bytes] = []
    for _ in range(40):
        text = request_text(callerid="choria=rip.mcollective")
        forged.append(signed(text, "insecure", "insecure"))  # unsigned
        forged.append(signed(text, b64(rng.randbytes(256)), signer.pubcert))  # random signature, real certificate
        forged.append(signed(text, signer.sign(text + " "), signer.pubcert))  # signature of other bytes
        forged.append(signed(text, foreign.sign(text), foreign.pubcert))  # certificate of another CA
        forged.append(
            signed(
                text,
                signer.sign(text),
                "-----BEGIN CERTIFICATE-----\n" + b64(rng.randbytes(300)) + "\n-----END CERTIFICATE-----\n",
            )
        )
        other_caller = request_text(callerid="choria=mallory.mcollective")
        forged.append(
            signed(other_caller, signer.sign(other_caller), signer.pubcert)
        )  # certname does not match the caller
    genuine = request_text(callerid="choria=rip.mcollective", requestid="d" * 32)

    async with ChoriaClient(config) as client:
        replies: list[bytes] = []

        async def on_reply(msg: Any) -> None:
            replies.append(msg.data)

        sub = await client.nc.subscribe(reply_to, cb=on_reply)
        start = await asyncio.to_thread(stable_counters, emulator)
        expected = await publish_all(client.nc, [(BROADCAST[0], payload) for payload in forged], instances=10)
        await wait_for_total(emulator, start["total"] + expected)
        after = await asyncio.to_thread(stable_counters, emulator)
        assert after["unvalidated"] - start["unvalidated"] == expected == 10 * len(forged)
        assert after["validated"] == start["validated"] and after["replies"] == start["replies"]
        assert replies == []
        # and the properly signed request still gets every answer
        await client.nc.publish(BROADCAST[0], signed(genuine, signer.sign(genuine), signer.pubcert))
        await apoll(lambda: len(replies) >= 10, timeout=30, what="10 replies to the signed request")
        await sub.unsubscribe()
