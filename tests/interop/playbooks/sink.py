"""A local HTTP endpoint for the webhook and graphite_event tasks: records every request.

``respond(path_prefix, status, body)`` sets the reply for paths starting with the prefix
(default ``200 {"ok": true}``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: Any  # http.client.HTTPMessage: case-insensitive lookups
    body: bytes


class HTTPSink:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.replies: list[tuple[str, int, str]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                sink.requests.append(Request(self.command, self.path, self.headers, body))
                status, text = sink.reply_for(self.path)
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def respond(self, prefix: str, status: int, body: str | dict[str, Any]) -> None:
        self.replies.insert(0, (prefix, status, body if isinstance(body, str) else json.dumps(body)))

    def reply_for(self, path: str) -> tuple[int, str]:
        for prefix, status, body in self.replies:
            if path.startswith(prefix):
                return status, body
        return 200, json.dumps({"ok": True})

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
