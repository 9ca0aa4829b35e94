"""Choria protocol v1: one small module per message layer, no I/O.

Nesting, outermost first (protocol.md §2): :class:`Transport` carries a
:class:`SecureRequest`/:class:`SecureReply`, which carries a :class:`Request`/:class:`Reply`,
whose ``message`` is the agent payload (an RPC body or the discovery ``ping``/``pong``).
"""

from .errors import ProtocolError
from .factfilter import FactFilter
from .filter import Filter
from .reply import Reply
from .request import Request
from .rpc import RPCReply, RPCRequest, StatusCode
from .secure import SecureReply, SecureRequest
from .transport import Federation, Transport

__all__ = [
    "FactFilter",
    "Federation",
    "Filter",
    "ProtocolError",
    "RPCReply",
    "RPCRequest",
    "Reply",
    "Request",
    "SecureReply",
    "SecureRequest",
    "StatusCode",
    "Transport",
]
