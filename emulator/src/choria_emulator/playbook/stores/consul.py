"""``consul``: listed so playbooks that use it fail early with a clear reason.

No Consul server can run where this project is built and tested, so a Consul client here could
not be verified; ``nats_kv`` offers the same model (KV plus working locks) on the NATS broker
the Choria network already has.
"""

from __future__ import annotations

from typing import Any

from ..errors import DataStoreError
from .base import DataStore


class ConsulStore(DataStore):
    type_name = "Consul"

    def from_hash(self, properties: dict[str, Any]) -> ConsulStore:
        raise DataStoreError(
            f"Data store {self.name} uses type consul, which this implementation does not support; "
            "use type nats_kv (NATS JetStream key-value, with locks) or etcd instead"
        )
