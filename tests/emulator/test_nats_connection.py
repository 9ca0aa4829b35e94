"""natsproto.NatsConnection against a scripted broker that breaks the protocol after the handshake.

nats-server never sends garbage, so a small asyncio server plays a broken broker: INFO, then
PONG to the handshake's PING, then a line that is not the NATS protocol.
"""

from __future__ import annotations

import asyncio

from choria_emulator.natsproto import ConnectOptions, NatsConnection, NatsProtocolError, parse_server


class Owner:
    name = "owner-test"

    def __init__(self) -> None:
        self.lost: list[Exception | None] = []
        self.gone = asyncio.Event()

    def subscription_lines(self) -> bytes:
        return b"SUB x.y 1\r\n"

    def on_message(self, sid: int, reply: bytes | None, payload: bytes) -> None:
        pass

    def on_disconnect(self, conn: NatsConnection, exc: Exception | None) -> None:
        self.lost.append(exc)
        self.gone.set()

    def on_server_error(self, message: str) -> None:
        pass


async def broken_broker(garbage: bytes) -> asyncio.AbstractServer:
    """Handshake, then ``garbage`` and wait for the client to reset; without garbage, close the socket."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b'INFO {"server_id":"x","max_payload":1048576}\r\n')
        while b"PING" not in await reader.readline():
            pass
        writer.write(b"PONG\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        if garbage:
            writer.write(garbage)
            await writer.drain()
            await reader.read()  # until the client resets
        writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0)


async def test_a_protocol_error_reaches_the_owner_with_its_reason():
    server = await broken_broker(b"BOGUS operation\r\n")
    port = server.sockets[0].getsockname()[1]
    owner = Owner()
    async with server:
        conn = await NatsConnection.connect(owner, parse_server(f"127.0.0.1:{port}"), ConnectOptions())
        await asyncio.wait_for(owner.gone.wait(), 10)
        await asyncio.sleep(0.05)  # connection_lost has run by now: it must not report a second time
    assert len(owner.lost) == 1
    assert isinstance(owner.lost[0], NatsProtocolError) and "unknown operation" in str(owner.lost[0])
    assert not conn.connected


async def test_a_clean_close_by_the_server_is_still_reported():
    server = await broken_broker(b"")
    port = server.sockets[0].getsockname()[1]
    owner = Owner()
    async with server:
        await NatsConnection.connect(owner, parse_server(f"127.0.0.1:{port}"), ConnectOptions())
        await asyncio.wait_for(owner.gone.wait(), 10)
    assert len(owner.lost) == 1 and not isinstance(owner.lost[0], NatsProtocolError)
