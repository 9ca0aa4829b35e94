"""The NATS server-to-client parser with byte strings: every operation, every split, garbage."""

from __future__ import annotations

from typing import Any

import pytest

from choria_emulator.natsproto.parser import MAX_CONTROL_LINE, NatsProtocolError, parse


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def nats_info(self, info: dict) -> None:
        self.events.append(("info", info))

    def nats_msg(self, subject: bytes, sid: int, reply: bytes | None, headers: bytes | None, payload: bytes) -> None:
        self.events.append(("msg", subject, sid, reply, headers, payload))

    def nats_ping(self) -> None:
        self.events.append(("ping",))

    def nats_pong(self) -> None:
        self.events.append(("pong",))

    def nats_err(self, message: str) -> None:
        self.events.append(("err", message))


def events_of(data: bytes) -> list[tuple[Any, ...]]:
    recorder = Recorder()
    assert parse(data, recorder) == len(data)
    return recorder.events


def feed(chunks: list[bytes]) -> list[tuple[Any, ...]]:
    """What NatsConnection.data_received does: keep the unconsumed tail, append the next chunk."""
    recorder = Recorder()
    pending = bytearray()
    for chunk in chunks:
        pending += chunk
        used = parse(pending, recorder)
        del pending[:used]
    assert not pending
    return recorder.events


STREAM = (
    b'INFO {"server_id":"x","max_payload":1048576}\r\n'
    b"PING\r\n"
    b"MSG mcollective.node.emu-1 1 5\r\nhello\r\n"
    b"MSG mcollective.broadcast.agent.discovery 22 _INBOX.abc 4\r\nab\r\n\r\n"
    b"HMSG a.b 3 12 17\r\nNATS/1.0\r\n\r\nhello\r\n"
    b"HMSG a.b 3 reply.to 12 12\r\nNATS/1.0\r\n\r\n\r\n"
    b"MSG empty 4 0\r\n\r\n"
    b"PONG\r\n"
    b"+OK\r\n"
    b"-ERR 'Authorization Violation'\r\n"
)
EXPECTED = [
    ("info", {"server_id": "x", "max_payload": 1048576}),
    ("ping",),
    ("msg", b"mcollective.node.emu-1", 1, None, None, b"hello"),
    ("msg", b"mcollective.broadcast.agent.discovery", 22, b"_INBOX.abc", None, b"ab\r\n"),
    ("msg", b"a.b", 3, None, b"NATS/1.0\r\n\r\n", b"hello"),
    ("msg", b"a.b", 3, b"reply.to", b"NATS/1.0\r\n\r\n", b""),
    ("msg", b"empty", 4, None, None, b""),
    ("pong",),
    ("err", "Authorization Violation"),
]


def test_every_operation_in_one_buffer():
    assert events_of(STREAM) == EXPECTED


def test_msg_without_reply_and_with_reply():
    assert events_of(b"MSG s 7 3\r\nabc\r\n") == [("msg", b"s", 7, None, None, b"abc")]
    assert events_of(b"MSG s 7 r 3\r\nabc\r\n") == [("msg", b"s", 7, b"r", None, b"abc")]


def test_payload_may_contain_crlf_and_control_words():
    payload = b"PING\r\nMSG x 1 2\r\n"
    assert events_of(b"MSG s 1 %d\r\n%s\r\n" % (len(payload), payload)) == [("msg", b"s", 1, None, None, payload)]


def test_operations_are_case_insensitive_and_tabs_separate():
    assert events_of(b"msg s 1 1\r\nx\r\nping\r\nMSG\ts\t2\t1\r\ny\r\n") == [
        ("msg", b"s", 1, None, None, b"x"),
        ("ping",),
        ("msg", b"s", 2, None, None, b"y"),
    ]


@pytest.mark.parametrize("split", range(1, len(STREAM)))
def test_stream_split_in_two_at_every_offset(split: int):
    assert feed([STREAM[:split], STREAM[split:]]) == EXPECTED


def test_stream_fed_byte_by_byte():
    assert feed([STREAM[i : i + 1] for i in range(len(STREAM))]) == EXPECTED


def test_incomplete_operation_is_left_for_the_next_call():
    recorder = Recorder()
    data = b"PING\r\nMSG s 1 10\r\nhel"
    assert parse(data, recorder) == len(b"PING\r\n")
    assert recorder.events == [("ping",)]
    assert parse(b"MSG s 1 3\r\nabc", recorder) == 0  # payload complete but CRLF not yet here


GARBAGE = {
    "unknown-operation": b"HELLO world\r\n",
    "msg-like-word": b"MSGX s 1 1\r\nx\r\n",
    "empty-line": b"\r\n",
    "msg-too-few-arguments": b"MSG s 1\r\n",
    "msg-too-many-arguments": b"MSG s 1 r x 3\r\nabc\r\n",
    "msg-non-numeric-sid": b"MSG s one 3\r\nabc\r\n",
    "msg-negative-size": b"MSG s 1 -3\r\nabc\r\n",
    "msg-size-not-a-number": b"MSG s 1 3x\r\nabc\r\n",
    "msg-absurd-size": b"MSG s 1 99999999999\r\n",
    "payload-not-followed-by-crlf": b"MSG s 1 3\r\nabcXY",
    "payload-longer-than-announced": b"MSG s 1 2\r\nabc\r\n",
    "hmsg-headers-larger-than-total": b"HMSG s 1 20 10\r\n0123456789\r\n",
    "hmsg-too-few-arguments": b"HMSG s 1 10\r\n",
    "info-not-json": b"INFO {nope\r\n",
    "info-not-an-object": b"INFO [1,2]\r\n",
    "control-line-too-long": b"MSG " + b"x" * (MAX_CONTROL_LINE + 10),
    "binary-noise": bytes(range(256)) + b"\r\n",
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_raises_nats_protocol_error(name: str):
    with pytest.raises(NatsProtocolError):
        parse(GARBAGE[name], Recorder())


def test_operations_before_garbage_are_delivered_first():
    recorder = Recorder()
    with pytest.raises(NatsProtocolError):
        parse(b"PING\r\nMSG s 1 1\r\nx\r\nBOGUS\r\n", recorder)
    assert recorder.events == [("ping",), ("msg", b"s", 1, None, None, b"x")]


def test_bytearray_buffers_hand_out_bytes():
    recorder = Recorder()
    parse(bytearray(b"MSG s 1 r 1\r\nx\r\n"), recorder)
    ((_, subject, _, reply, _, payload),) = recorder.events
    assert type(subject) is type(reply) is type(payload) is bytes
