"""``memory``: an in-process mapping (0.6.0 only), with working in-process locks.

0.6.0 called the memory store's three-argument ``lock`` with two arguments, so any lock on it
crashed; here locks work (a per-key mutex with the store's ``timeout``), see docs/playbooks.md.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from ..errors import DataStoreError, LockTimeout
from .base import DataStore


class MemoryStore(DataStore):
    type_name = "Memory"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.data: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def read(self, key: str) -> Any:
        if key not in self.data:
            raise DataStoreError(f"No such key {key}")
        return copy.deepcopy(self.data[key])

    def write(self, key: str, value: Any) -> Any:
        self.data[key] = copy.deepcopy(value)
        return self.read(key)

    def delete(self, key: str) -> Any:
        return self.data.pop(key, None)

    def lock(self, key: str, timeout: float) -> None:
        with self._guard:
            mutex = self._locks.setdefault(key, threading.Lock())
        if not mutex.acquire(timeout=max(float(timeout), 0)):
            raise LockTimeout(f"Failed to obtain lock {key} after {timeout} seconds")

    def release(self, key: str) -> None:
        mutex = self._locks.get(key)
        if mutex is None or not mutex.locked():
            raise DataStoreError(f"Lock {key} is not held")
        mutex.release()
