"""The Choria Federation Broker: ``choria-emulator federation`` (protocol.md §1, §2.1)."""

from .broker import ChainStats, FederationBroker
from .transform import (
    FederationError,
    collective_subject,
    federation_subject,
    reply_for_federation,
    request_for_collective,
)

__all__ = [
    "ChainStats",
    "FederationBroker",
    "FederationError",
    "collective_subject",
    "federation_subject",
    "reply_for_federation",
    "request_for_collective",
]
