"""One emulated Choria server: an identity, its facts, and its own NATS connection.

Instances of a worker share one :class:`Layout`: the subscription ids are the same for all of
them (sid → collective/agent), so an instance stores no per-subscription state at all. An
instance is also what agents see of a node (:class:`~.registry.AgentContext`): properties,
no extra memory.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, Any, Protocol

from ..natsproto.subjects import valid_subject, valid_token
from .replies import go_string, sender_headers

if TYPE_CHECKING:
    from ..natsproto import NatsConnection
    from .registry import Agent, AgentRegistry, NodeSettings
    from .stats import Counters

DEFAULT_MAX_PAYLOAD = 1024 * 1024  # NATS' default, until a server's INFO says otherwise


class Layout:
    """The subscriptions a real daemon makes (protocol.md §1), shared by a worker's instances.

    Per collective: ``C.node.<identity>`` then ``C.broadcast.agent.<agent>`` for every agent of
    the registry, so each instance has ``collectives × (1 + agents)`` subscriptions.
    """

    def __init__(self, collectives: list[str], registry: AgentRegistry):
        # each goes into SUB lines: a collective is a subject prefix (it may have '.' parts, as a
        # server config's may), an agent one token; never more protocol
        for collective in collectives:
            if not valid_subject(collective):
                raise ValueError(f"collective {collective!r} cannot be part of a NATS subject")
        for agent in registry.names():
            if not valid_token(agent):
                raise ValueError(f"agent {agent!r} cannot be a NATS subject token")
        self.collectives = tuple(collectives)
        self.registry = registry
        self.agents = registry.names()
        self.known_agents = registry.known_agents()  # go-choria KnownAgents() is sorted
        self.agent_for: dict[str, Agent] = {agent.name: agent for agent in registry}  # the dispatch table
        self.inventory = registry.inventory()
        self.routes: list[tuple[str, str | None]] = [("", None)]  # sid 0 unused
        broadcast: list[bytes] = []
        self._node_sids: list[tuple[str, int]] = []
        for collective in self.collectives:
            self._node_sids.append((collective, len(self.routes)))
            self.routes.append((collective, None))
            for agent in self.agents:
                broadcast.append(
                    b"SUB %s.broadcast.agent.%s %d\r\n" % (collective.encode(), agent.encode(), len(self.routes))
                )
                self.routes.append((collective, agent))
        self._broadcast_lines = b"".join(broadcast)

    @property
    def subscription_count(self) -> int:
        return len(self.routes) - 1

    def subscription_lines(self, identity: str) -> bytes:
        nodes = b"".join(b"SUB %s.node.%s %d\r\n" % (c.encode(), identity.encode(), sid) for c, sid in self._node_sids)
        return nodes + self._broadcast_lines

    def subjects(self, identity: str) -> list[str]:
        """Every subject an instance subscribes to, in subscription order (for tests and docs)."""
        return [f"{c}.node.{identity}" if a is None else f"{c}.broadcast.agent.{a}" for c, a in self.routes[1:]]


class NodeKinds:
    """Instances of a worker grouped by what classes, fact and compound filters read: their facts dict
    (equal facts share one dict) and classes. A filter on those is evaluated once per kind.

    ``budget`` is the work (in :mod:`~..protocol.prepared` units, about 1 µs each) one request's
    filter may cost in this worker: a base plus a little per instance, so that no request costs a
    worker more than a few times what answering it would.
    """

    __slots__ = ("kind_of", "count", "class_sets", "budget")

    BASE_BUDGET = 20_000
    PER_INSTANCE = 16

    def __init__(self, instances: list[Instance]):
        kinds: dict[tuple[int, tuple[str, ...]], int] = {}
        self.kind_of = array("I", (kinds.setdefault((id(i.facts), i.classes), len(kinds)) for i in instances))
        self.count = len(kinds)
        self.class_sets = len({i.classes for i in instances})
        self.budget = self.BASE_BUDGET + self.PER_INSTANCE * len(instances)


class Host(Protocol):
    """What an instance needs of its worker (``daemon/worker.py`` is the one host)."""

    @property
    def layout(self) -> Layout:
        """The subscriptions and agents the worker's instances share."""

    @property
    def settings(self) -> NodeSettings:
        """Node settings agents read."""

    @property
    def counters(self) -> Counters:
        """The worker's per-instance counters."""

    def dispatch(self, instance: Instance, sid: int, payload: bytes) -> None:
        """A message for ``instance``."""

    def instance_lost(self, instance: Instance, exc: Exception | None) -> None:
        """``instance``'s connection was lost."""

    def server_error(self, instance: Instance, message: str) -> None:
        """The server sent ``-ERR message`` to ``instance``."""


class Instance:
    __slots__ = (
        "worker",
        "layout",
        "slot",
        "index",
        "identity",
        "facts",
        "classes",
        "connection",
        "server_index",
        "attempts",
        "reconnects",
        "identity_json",
        "headers_json",
    )

    def __init__(
        self, worker: Host, slot: int, index: int, identity: str, facts: dict[str, Any], classes: tuple[str, ...]
    ):
        self.worker = worker
        self.layout = worker.layout
        self.slot = slot
        self.index = index
        self.identity = identity
        self.facts = facts
        self.classes = classes
        self.connection: NatsConnection | None = None
        self.server_index = index
        self.attempts = 0
        self.reconnects = 0
        self.identity_json = go_string(identity)
        self.headers_json = ""

    # NodeView for filters, AgentContext for agents
    @property
    def agents(self) -> tuple[str, ...]:
        return self.layout.agents

    @property
    def known_agents(self) -> tuple[str, ...]:
        return self.layout.known_agents

    @property
    def collectives(self) -> tuple[str, ...]:
        return self.layout.collectives

    @property
    def settings(self) -> NodeSettings:
        return self.worker.settings

    @property
    def connected_url(self) -> str:
        return self.connection.server.url if self.connection is not None else ""

    @property
    def max_payload(self) -> int:
        return self.connection.max_payload if self.connection is not None else DEFAULT_MAX_PAYLOAD

    def counters(self) -> dict[str, int]:
        return self.worker.counters.instance(self.slot)

    def agent_inventory(self) -> list[dict[str, Any]]:
        return self.layout.inventory

    # natsproto Owner
    @property
    def name(self) -> str:
        return self.identity

    def subscription_lines(self) -> bytes:
        return self.layout.subscription_lines(self.identity)

    def on_message(self, sid: int, reply: bytes | None, payload: bytes) -> None:
        self.worker.dispatch(self, sid, payload)

    def on_disconnect(self, conn: NatsConnection, exc: Exception | None) -> None:
        self.worker.instance_lost(self, exc)

    def on_server_error(self, message: str) -> None:
        self.worker.server_error(self, message)

    def connected_to(self, conn: NatsConnection) -> None:
        self.connection = conn
        self.attempts = 0
        self.headers_json = sender_headers(self.identity, conn.server.url)
