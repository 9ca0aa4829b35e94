"""A lean NATS client protocol for the emulated instances.

nats-py costs about 141 KiB per connection with 25 callback subscriptions (a task and a queue
per subscription; bench/natspy_baseline.py, docs/benchmarks/emulator.md); tens of thousands
of instances cannot afford that. This package keeps the nats-py split: :mod:`.parser` is a
pure function over bytes, :mod:`.connection` owns the socket. Clients and tools keep using nats-py.
"""

from .connection import ConnectOptions, NatsConnection, PermanentConnectError, ServerAddress, parse_server
from .parser import NatsProtocolError, parse

__all__ = [
    "ConnectOptions",
    "NatsConnection",
    "NatsProtocolError",
    "PermanentConnectError",
    "ServerAddress",
    "parse",
    "parse_server",
]
