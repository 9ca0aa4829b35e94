"""The data store interface (§1.5): read, write, delete and, where the backend can, lock/release."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..errors import DataStoreError

if TYPE_CHECKING:
    from ..bridge import LoopThread
    from ..logger import PlaybookLogger


@dataclass
class StoreContext:
    """What stores may need from the run: the playbook name, the log, the async loop, NATS servers."""

    playbook: str = "playbook"
    log: PlaybookLogger | None = None
    loop: Callable[[], LoopThread] | None = None
    nats_servers: list[str] = field(default_factory=list)
    nats_options: dict[str, Any] = field(default_factory=dict)
    # Who holds locks taken in this run; the Ansible mapping passes one id to every task.
    owner: str = field(default_factory=lambda: str(uuid.uuid4()))


class NotImplementedStoreError(DataStoreError):
    ruby_class = "NotImplementedError"


class DataStore:
    """Base store: everything unsupported raises ``<op> not implemented in <Class>``."""

    type_name = "Base"

    def __init__(self, name: str, context: StoreContext):
        self.name = name
        self.context = context
        self.properties: dict[str, Any] = {}

    def from_hash(self, properties: dict[str, Any]) -> DataStore:
        self.properties = dict(properties)
        return self

    def prepare(self) -> None:
        return None

    def read(self, key: str) -> Any:
        raise NotImplementedStoreError(f"read not implemented in {self.class_name}")

    def write(self, key: str, value: Any) -> Any:
        raise NotImplementedStoreError(f"write not implemented in {self.class_name}")

    def delete(self, key: str) -> Any:
        """Remove ``key``; returns what Ruby's store returned (the old value for memory and environment, else nil),
        which the ``data`` task reports as its data."""
        raise NotImplementedStoreError(f"delete not implemented in {self.class_name}")

    def lock(self, key: str, timeout: float) -> None:
        raise NotImplementedStoreError(f"lock not implemented in {self.class_name}")

    def release(self, key: str) -> None:
        raise NotImplementedStoreError(f"release not implemented in {self.class_name}")

    def close(self) -> None:
        """Drop connections; locks still held are left as they are (see §1.6)."""
        return None

    @property
    def class_name(self) -> str:
        return f"{self.type_name}DataStore"

    def debug(self, msg: str) -> None:
        if self.context.log is not None:
            self.context.log.debug(msg)

    def warn(self, msg: str) -> None:
        if self.context.log is not None:
            self.context.log.warn(msg)


def as_text(value: Any) -> str:
    """Values of string-only stores (environment, etcd, nats_kv): strings as they are, others as JSON."""
    if isinstance(value, str):
        return str.__str__(value)
    from ..rubyfmt import to_json

    return to_json(value)
