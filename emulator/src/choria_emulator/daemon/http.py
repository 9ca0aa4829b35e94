"""A minimal HTTP/1.1 responder for ``/debug/vars`` and ``/metrics``.

Only GET of a few fixed paths, one response per connection; enough for the management
playbooks, ``curl`` and a Prometheus scraper, without a web framework in the daemon.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Callable

log = logging.getLogger(__name__)

Route = Callable[[], tuple[str, bytes]]  # -> (content type, body)
MAX_REQUEST = 16 * 1024


class HTTPServer:
    def __init__(self, routes: dict[str, Route]):
        self.routes = routes
        self.server: asyncio.base_events.Server | None = None

    async def start(self, host: str, port: int) -> int:
        self.server = await asyncio.start_server(self._handle, host, port)
        return self.server.sockets[0].getsockname()[1]

    async def start_on(self, sock: socket.socket) -> int:
        """Serve on a socket bound earlier (the supervisor binds before forking workers)."""
        self.server = await asyncio.start_server(self._handle, sock=sock)
        return sock.getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            method, path, _version = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            path = path.split("?", 1)[0]
            route = self.routes.get(path)
            if method not in ("GET", "HEAD"):
                status, ctype, body = "405 Method Not Allowed", "text/plain", b"only GET\n"
            elif route is None:
                status, ctype, body = "404 Not Found", "text/plain", b"not found; try /debug/vars or /metrics\n"
            else:
                status = "200 OK"
                ctype, body = route()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + (body if method == "GET" else b"")
            )
            await writer.drain()
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            asyncio.TimeoutError,
            ValueError,
            ConnectionError,
        ):
            pass  # a client that does not speak HTTP gets the connection closed, nothing else
        finally:
            writer.close()
