"""The Choria client: discovery, ping and RPC over nats-py, usable from the CLI and from Ansible.

Async API: :class:`ChoriaClient`. Small sync wrappers for plugins: :mod:`.sync`.
"""

from .collect import ReplyRecord, RequestOutcome
from .config import ClientConfig, ClientConfigError
from .core import ChoriaClient, ClientError
from .discovery import discover
from .ping import PingResult, ping
from .rpc import RPCResult, RPCStats, rpc
from .spec import RequestSpec

__all__ = [
    "ChoriaClient",
    "ClientConfig",
    "ClientConfigError",
    "ClientError",
    "PingResult",
    "RPCResult",
    "RPCStats",
    "ReplyRecord",
    "RequestOutcome",
    "RequestSpec",
    "discover",
    "ping",
    "rpc",
]
