"""``etcd``: etcd v3 through its JSON gateway (``/v3/kv/range``, ``put``, ``deleterange``).

No gRPC client is needed (the ``etcd3`` package is unmaintained): the gateway that every etcd
3.4+ serves is plain HTTP + JSON with base64 keys and values. ``user``/``password`` use
``/v3/auth/authenticate`` and send the token on every call. Like 0.6.0 this store has no locks.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

from ..errors import DataStoreError
from .base import DataStore, as_text

DEFAULT_URL = "http://127.0.0.1:2379"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class EtcdStore(DataStore):
    type_name = "Etcd"

    def from_hash(self, properties: dict[str, Any]) -> EtcdStore:
        super().from_hash(properties)
        self.url = str(properties.get("url") or DEFAULT_URL).rstrip("/")
        self.user = properties.get("user")
        self.password = properties.get("password")
        self.request_timeout = float(properties.get("request_timeout", 10))
        self._token: str | None = None
        return self

    def _post(self, path: str, body: dict[str, Any], auth: bool = True) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if auth and self.user:
            headers["Authorization"] = self._authenticate()
        request = urllib.request.Request(f"{self.url}{path}", json.dumps(body).encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.request_timeout) as response:  # configured URL
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            try:
                detail = json.loads(detail).get("error") or json.loads(detail).get("message") or detail
            except ValueError:
                pass
            raise DataStoreError(f"etcd {path} failed: {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DataStoreError(f"Could not connect to etcd at {self.url}: {reason}") from None

    def _authenticate(self) -> str:
        if self._token is None:
            reply = self._post(
                "/v3/auth/authenticate", {"name": self.user, "password": self.password or ""}, auth=False
            )
            token = reply.get("token")
            if not token:
                raise DataStoreError(f"etcd at {self.url} did not return an authentication token")
            self._token = token
        return self._token

    def read(self, key: str) -> Any:
        reply = self._post("/v3/kv/range", {"key": _b64(key)})
        kvs = reply.get("kvs") or []
        if not kvs:
            raise DataStoreError(f"Could not find key {key}")
        return base64.b64decode(kvs[0].get("value", "")).decode()

    def write(self, key: str, value: Any) -> Any:
        self._post("/v3/kv/put", {"key": _b64(key), "value": _b64(as_text(value))})
        return value

    def delete(self, key: str) -> None:
        self._post("/v3/kv/deleterange", {"key": _b64(key)})
