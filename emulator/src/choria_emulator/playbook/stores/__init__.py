"""Data stores (§1.5) and playbook locks (§1.6): ``<store>/<key>`` paths over named stores."""

from __future__ import annotations

import re
from typing import Any

from ..errors import DataStoreError, PlaybookError, describe
from .base import DataStore, StoreContext
from .consul import ConsulStore
from .environment import EnvironmentStore
from .etcd import EtcdStore
from .file import FileStore
from .memory import MemoryStore
from .nats_kv import NatsKVStore
from .shell import ShellStore

STORE_TYPES: dict[str, type[DataStore]] = {
    "file": FileStore,
    "environment": EnvironmentStore,
    "shell": ShellStore,
    "memory": MemoryStore,
    "etcd": EtcdStore,
    "nats_kv": NatsKVStore,
    "consul": ConsulStore,
}
PATH = re.compile(r"^([a-zA-Z0-9\-_]+)/(.+)$", re.DOTALL)
DEFAULT_LOCK_TIMEOUT = 120

__all__ = ["STORE_TYPES", "DataStore", "DataStores", "StoreContext", "lock_path", "parse_path"]


def parse_path(path: Any) -> tuple[str, str]:
    """``"s/y/z"`` -> ``("s", "y/z")``; anything else is ``Invalid data store path X``."""
    found = PATH.match(path) if isinstance(path, str) else None
    if not found:
        raise DataStoreError(f"Invalid data store path {path}")
    return found.group(1), found.group(2)


def lock_path(lock: str, playbook: str) -> str:
    """A lock given as ``store/key`` is used as is; a bare store name gets the playbook's lock key."""
    return lock if re.match(r"^[a-zA-Z0-9\-_]+/.+$", lock) else f"{lock}/choria/locks/playbook/{playbook}"


class DataStores:
    def __init__(self, context: StoreContext | None = None):
        self.context = context or StoreContext()
        self.stores: dict[str, dict[str, Any]] = {}

    def from_hash(self, data: dict[str, Any]) -> DataStores:
        self.stores.clear()
        for name, props in (data or {}).items():
            props = dict(props or {})
            self._debug(f"Loading data store {name}")
            try:
                timeout = int(props.get("timeout", DEFAULT_LOCK_TIMEOUT))
            except (TypeError, ValueError):
                raise DataStoreError(f"timeout of data store {name} should be an integer") from None
            self.stores[str(name)] = {
                "properties": props,
                "type": props.get("type"),
                "lock_timeout": timeout,
                "store": self.store_for(str(name), props.get("type")),
            }
        return self

    def store_for(self, name: str, kind: Any) -> DataStore:
        handler = STORE_TYPES.get(str(kind)) if kind is not None else None
        if handler is None:
            raise PlaybookError(
                f"Cannot find a handler for Data Store type {kind if kind is not None else ''}".rstrip()
            )
        return handler(name, self.context)

    def use(self, name: str, store: DataStore) -> None:
        """Put ``store`` in place of the store called ``name`` (converted plays keep memory stores in facts)."""
        if name not in self.stores:
            raise DataStoreError(f"Unknown data store {name}")
        self.stores[name]["store"] = store

    def prepare(self) -> None:
        for entry in self.stores.values():
            entry["store"].from_hash(entry["properties"])
            entry["store"].prepare()

    def keys(self) -> list[str]:
        return list(self.stores)

    def __contains__(self, store: str) -> bool:
        return store in self.stores

    def __getitem__(self, store: str) -> DataStore:
        if store not in self.stores:
            raise DataStoreError(f"Unknown data store {store}")
        return self.stores[store]["store"]

    def valid_path(self, path: str) -> bool:
        try:
            store, _key = parse_path(path)
        except DataStoreError:
            return False
        return store in self

    def lock_timeout(self, store: str) -> int:
        if store not in self.stores:
            raise DataStoreError(f"Unknown data store {store}")
        return self.stores[store]["lock_timeout"]

    def read(self, path: str) -> Any:
        try:
            store, key = parse_path(path)
            self._debug(f"Reading key {key} from data store {store}")
            return self[store].read(key)
        except PlaybookError as exc:
            raise DataStoreError(f"Could not read key {path}: {describe(exc)}") from None

    def write(self, path: str, value: Any) -> Any:
        store, key = parse_path(path)
        self._debug(f"Storing data in key {key} within data store {store}")
        return self[store].write(key, value)

    def delete(self, path: str) -> Any:
        store, key = parse_path(path)
        self._debug(f"Deleting key {key} from data store {store}")
        return self[store].delete(key)

    def lock(self, path: str) -> None:
        store, key = parse_path(path)
        timeout = self.lock_timeout(store)
        self._debug(f"Obtaining lock {key} on data store {store} with timeout {timeout}")
        self[store].lock(key, timeout)

    def release(self, path: str) -> None:
        store, key = parse_path(path)
        self._debug(f"Releasing lock {key} on data store {store}")
        self[store].release(key)

    def close(self) -> None:
        for entry in self.stores.values():
            try:
                entry["store"].close()
            except PlaybookError as exc:
                self._debug(f"Closing data store failed: {exc}")

    def _debug(self, msg: str) -> None:
        if self.context.log is not None:
            self.context.log.debug(msg)
