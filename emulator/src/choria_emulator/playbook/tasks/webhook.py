"""``webhook``: a GET or POST to a URL with the playbook's headers and data (§2.4)."""

from __future__ import annotations

import json
import urllib.parse
import uuid
from typing import Any

from ..errors import describe
from ..rubyfmt import to_s
from ..yamlload import plain
from .base import Task, TaskOutcome

USER_AGENT = "Choria Playbooks http://choria.io"
_TRUE = ("1", "yes", "true", "y", "t")
_FALSE = ("0", "no", "false", "n", "f")


def truthy(value: Any, default: bool = True) -> bool:
    if value is None:
        return default
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{value} is not a boolean")


class WebhookTask(Task):
    type_name = "webhook"

    def from_hash(self, data: dict[str, Any]) -> WebhookTask:
        self.headers = {str(k): str(v) for k, v in (data.get("headers") or {}).items()}
        self.data = plain(data.get("data") or {})
        self.uri = data.get("uri")
        self.method = str(data.get("method") or "POST").upper()
        self.verify_ssl_raw = data.get("verify_ssl", True)
        self.request_id = str(uuid.uuid4())
        return self

    def validate_configuration(self) -> None:
        if not self.uri:
            raise self.fail("A uri is required")
        if self.method not in ("GET", "POST"):
            raise self.fail("Only GET and POST is supported as methods")
        try:
            truthy(self.verify_ssl_raw)
        except ValueError:
            raise self.fail(f"verify_ssl should be a boolean, got {self.verify_ssl_raw}") from None

    def request_url(self) -> str:
        if self.method != "GET" or not self.data:
            return str(self.uri)
        parts = urllib.parse.urlsplit(str(self.uri))
        query = [parts.query] if parts.query else []
        query.append(query_string(self.data))
        return urllib.parse.urlunsplit(parts._replace(query="&".join(query)))

    def request_headers(self) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "X-Choria-Request-ID": self.request_id}
        if self.method == "POST":
            headers = {"Content-Type": "application/json", **headers}
        headers.update(self.headers)
        return headers

    def run(self) -> TaskOutcome:
        try:
            body = json.dumps(self.data, separators=(",", ":")).encode() if self.method == "POST" else None
            response = self.playbook.services.http(
                self.method, self.request_url(), self.request_headers(), body, verify=truthy(self.verify_ssl_raw)
            )
        except Exception as exc:  # connection, TLS and URL errors all fail the task with their class
            msg = f"Could not send {self.method} to webhook {self.uri}: {describe(exc)}"
            self.log.debug(msg)
            return False, msg, []
        self.log.debug(
            f"{self.method} request to {self.request_url()} returned code {response.status} with body: {response.body}"
        )
        if response.status in (200, 201):
            return (
                True,
                f"Successfully sent {self.method} request to webhook {self.uri} with id {self.request_id}",
                [response.body],
            )
        return (
            False,
            f"Failed to send {self.method} request to webhook {self.uri} with id {self.request_id}: "
            f"{response.status}: {response.body}",
            [response.body],
        )

    def to_execution_result(self, outcome: TaskOutcome) -> dict[str, Any]:
        host = urllib.parse.urlsplit(str(self.uri)).hostname or str(self.uri)
        result = super().to_execution_result(outcome)["localhost"]
        if "error" in result:
            result["error"]["details"] = {"uri": self.uri, "method": self.method}
        return {host: result}


def cgi_escape(text: str) -> str:
    """Ruby's ``CGI.escape``: everything but letters, digits and ``_.-~`` percent-encoded, spaces as ``+``."""
    return urllib.parse.quote_plus(text, safe="~")


def query_string(data: dict[str, Any]) -> str:
    """A GET webhook's ``data`` as 0.6.0 appends it: ``CGI.escape(key)=CGI.escape(value.to_s)`` joined with ``&``."""
    return "&".join(f"{cgi_escape(str(key))}={cgi_escape(to_s(value))}" for key, value in data.items())
