"""The exception types of the protocol layer (no dependencies, so the daemon's hot path can catch them)."""


class ProtocolError(ValueError):
    """A message could not be decoded or does not follow Choria protocol v1."""


class SecurityError(ProtocolError):
    """A request failed security validation; the daemon drops it and counts it ``unvalidated``."""
