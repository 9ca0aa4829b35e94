"""``nats_kv``: NATS JetStream key-value, the modern store with working locks.

Options: ``servers`` (default: the run's Choria broker), ``bucket`` (default
``CHORIA_PLAYBOOKS``, created unless ``create: false``), ``credentials``, ``user``/``password``,
``tls_ca``/``tls_cert``/``tls_key``, ``timeout`` (lock wait, seconds) and ``ttl`` (lock lease,
seconds; 0 = held until released).

A lock is a key created only if absent (``kv.create``) whose value names the owner and, with a
``ttl``, when it expires. Waiters poll until the key is gone or expired and take it with a
compare-and-set on its revision, so two runs can never both win. While a run holds a leased lock
it renews it every ``ttl/3`` seconds; if the run dies the lease runs out, as Consul sessions did.
Values are strings (others are written as JSON), like the etcd store.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import time
from typing import Any

from ..errors import DataStoreError, LockTimeout
from .base import DataStore, as_text

DEFAULT_BUCKET = "CHORIA_PLAYBOOKS"
DEFAULT_SERVER = "nats://127.0.0.1:4222"
BUCKET = re.compile(r"^[a-zA-Z0-9_-]+$")
KEY = re.compile(r"^[-/_=.a-zA-Z0-9]+$")
POLL = 0.25


class NatsKVStore(DataStore):
    type_name = "Nats_kv"

    def from_hash(self, properties: dict[str, Any]) -> NatsKVStore:
        super().from_hash(properties)
        servers = properties.get("servers") or properties.get("url") or self.context.nats_servers or [DEFAULT_SERVER]
        self.servers = [
            s.strip() for s in (servers.split(",") if isinstance(servers, str) else servers) if str(s).strip()
        ]
        self.bucket = str(properties.get("bucket") or DEFAULT_BUCKET)
        if not BUCKET.match(self.bucket):
            raise DataStoreError(
                f"Invalid bucket name {self.bucket} for data store {self.name}: use letters, digits, - and _"
            )
        self.create = bool(properties.get("create", True))
        try:
            self.ttl = float(properties.get("ttl", 0) or 0)
        except (TypeError, ValueError):
            raise DataStoreError(f"ttl of data store {self.name} should be a number of seconds") from None
        self._nc: Any = None
        self._kv: Any = None
        self._renewals: dict[str, asyncio.Task[None]] = {}
        return self

    # -- plumbing -----------------------------------------------------------------------
    def _call(self, coro: Any, timeout: float | None = 60) -> Any:
        if self.context.loop is None:
            raise DataStoreError("the nats_kv store needs the run's event loop")
        return self.context.loop().call(coro, timeout)

    def prepare(self) -> None:
        self._call(self._connect())

    async def _connect(self) -> None:
        import nats
        from nats.js.errors import BucketNotFoundError

        from ...client.config import ClientConfig, ClientConfigError

        props = self.properties
        settings = ClientConfig(
            servers=self.servers,
            credentials=os.path.expanduser(str(props["credentials"])) if props.get("credentials") else None,
            user=str(props["user"]) if props.get("user") else None,
            password=str(props.get("password") or ""),
            tls=bool(props.get("tls_ca") or props.get("tls_cert")),
            tls_ca=props.get("tls_ca"),
            tls_cert=props.get("tls_cert"),
            tls_key=props.get("tls_key"),
        )
        try:
            connection = settings.nats_options()
        except ClientConfigError as exc:
            raise DataStoreError(f"Could not set up TLS for data store {self.name}: {exc}") from None
        options: dict[str, Any] = {
            "connect_timeout": 5,
            "max_reconnect_attempts": 2,
            "allow_reconnect": True,
            **self.context.nats_options,
            **connection,
        }
        try:
            self._nc = await nats.connect(**options, error_cb=_quiet, disconnected_cb=None)
        except Exception as exc:  # nats-py raises several unrelated types here; all mean "cannot connect"
            raise DataStoreError(
                f"Could not connect to NATS at {', '.join(self.servers)}: {exc or type(exc).__name__}"
            ) from None
        if self.context.loop is not None:
            self.context.loop().on_close(self._shutdown)
        js = self._nc.jetstream()
        try:
            self._kv = await js.key_value(self.bucket)
        except BucketNotFoundError:
            if not self.create:
                raise DataStoreError(f"NATS key-value bucket {self.bucket} does not exist (create: false)") from None
            self._kv = await js.create_key_value(bucket=self.bucket, history=1, description="Choria playbook data")
        except Exception as exc:  # JetStream off shows as NoResponders/ServiceUnavailable/timeouts
            await self._nc.close()
            raise DataStoreError(
                f"JetStream key-value is not available on {', '.join(self.servers)} "
                f"(is nats-server running with -js?): {exc or type(exc).__name__}"
            ) from None

    def _key(self, key: str) -> str:
        if not KEY.match(key) or key.startswith(".") or key.endswith("."):
            raise DataStoreError(
                f"Invalid key {key} for data store {self.name}: NATS keys may only use letters, digits and - / _ = ."
            )
        return key

    def _ensure(self) -> None:
        if self._kv is None:
            self.prepare()

    # -- data ---------------------------------------------------------------------------
    def read(self, key: str) -> Any:
        self._ensure()
        return self._call(self._read(self._key(key)))

    async def _read(self, key: str) -> str:
        from nats.js.errors import KeyNotFoundError

        try:
            entry = await self._kv.get(key)
        except KeyNotFoundError:
            raise DataStoreError(f"No such key {key}") from None
        return (entry.value or b"").decode()

    def write(self, key: str, value: Any) -> Any:
        self._ensure()
        self._call(self._kv.put(self._key(key), as_text(value).encode()))
        return value

    def delete(self, key: str) -> None:
        self._ensure()
        self._call(self._kv.delete(self._key(key)))

    # -- locks --------------------------------------------------------------------------
    def lock(self, key: str, timeout: float) -> None:
        self._ensure()
        self._call(self._lock(self._key(key), float(timeout)), timeout=float(timeout) + 30)

    def _claim(self) -> bytes:
        expires = time.time() + self.ttl if self.ttl > 0 else None
        return json.dumps(
            {
                "owner": self.context.owner,
                "playbook": self.context.playbook,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "expires": expires,
            }
        ).encode()

    async def _lock(self, key: str, timeout: float) -> None:
        from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

        deadline = time.monotonic() + timeout
        while True:
            try:
                revision = await self._kv.create(key, self._claim())
                break
            except KeyWrongLastSequenceError:
                pass
            try:
                entry = await self._kv.get(key)
                holder = _holder(entry.value)
                if holder.get("owner") == self.context.owner:
                    revision = entry.revision  # already ours (re-entrant, e.g. the same lock listed twice)
                    break
                if holder.get("expires") is not None and holder["expires"] < time.time():
                    revision = await self._kv.update(key, self._claim(), last=entry.revision)
                    self.debug(f"Took over expired lock {key} from {holder.get('host')}:{holder.get('pid')}")
                    break
            except (KeyNotFoundError, KeyWrongLastSequenceError):
                continue  # released or taken between our calls: try again at once
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LockTimeout(f"Failed to obtain lock {key} after {_seconds(timeout)} seconds")
            await asyncio.sleep(min(POLL, remaining))
        if self.ttl > 0:
            self._renewals[key] = asyncio.ensure_future(self._renew(key, revision))

    async def _renew(self, key: str, revision: int) -> None:
        while True:
            await asyncio.sleep(max(self.ttl / 3, 0.1))
            try:
                revision = await self._kv.update(key, self._claim(), last=revision)
            except Exception as exc:  # a lost lease is reported, the renewal stops
                self.warn(f"Could not renew lock {key}, it may expire: {exc or type(exc).__name__}")
                return

    def release(self, key: str) -> None:
        self._ensure()
        self._call(self._release(self._key(key)))

    async def _release(self, key: str) -> None:
        from nats.js.errors import KeyNotFoundError

        task = self._renewals.pop(key, None)
        if task is not None:
            task.cancel()
        try:
            entry = await self._kv.get(key)
        except KeyNotFoundError:
            raise DataStoreError(f"Lock {key} is not held") from None
        holder = _holder(entry.value)
        if holder.get("owner") != self.context.owner:
            raise DataStoreError(f"Lock {key} is held by {holder.get('host')}:{holder.get('pid')}, not by this run")
        await self._kv.delete(key, last=entry.revision)

    def holder(self, key: str) -> dict[str, Any] | None:
        """Who holds lock ``key`` (for tests and ``playbook show``), or None."""
        self._ensure()

        async def get() -> dict[str, Any] | None:
            from nats.js.errors import KeyNotFoundError

            try:
                return _holder((await self._kv.get(key)).value)
            except KeyNotFoundError:
                return None

        return self._call(get())

    async def _shutdown(self) -> None:
        for task in self._renewals.values():
            task.cancel()
        self._renewals.clear()
        if self._nc is not None:
            nc, self._nc, self._kv = self._nc, None, None
            await nc.close()

    def close(self) -> None:
        """Drop the connection and stop renewals; held locks stay until released or expired."""
        if self._nc is not None:
            self._call(self._shutdown())


def _holder(raw: bytes | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


async def _quiet(exc: Exception) -> None:
    """nats-py logs connection errors through this callback; the store reports them itself."""
    return None
