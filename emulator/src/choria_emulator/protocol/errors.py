"""The one exception type of the protocol layer."""


class ProtocolError(ValueError):
    """A message could not be decoded or does not follow Choria protocol v1."""
