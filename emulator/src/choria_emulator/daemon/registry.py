"""The agents an emulated node serves: one registry ``{agent: {action: handler}}``.

Everything else is derived from it: the ``C.broadcast.agent.<agent>`` subscriptions (in
registration order), ``rpcutil#inventory`` / ``agent_inventory`` (names sorted, metadata from
the agent), the audit log's "does the agent have this action", and dispatch in the worker.
Built-in agents (:mod:`.agents`) and plug-ins (DDL-driven agents) register the same way::

    from choria_emulator.daemon.registry import Action, Agent, Later, fail, ok

    def status(ctx, request):                  # ctx: AgentContext, request: RequestView
        return ok({"enabled": True, "identity": ctx.identity})

    def disable(ctx, request):
        return Later(0.5, ok({"status": "disabled"}))     # reply 0.5 s later (one timer heap per worker)

    puppet = Agent(
        "puppet",
        {"status": Action(status), "disable": Action(disable, validate=check_message)},
        metadata={"name": "puppet", "version": "2.4.0", "timeout": 20, ...},   # DDL metadata
        setup=lambda services: ...,             # once per worker process: size, call_later
    )
    config = EmulatorConfig(..., plugins=(puppet,))    # subscribed, inventoried, dispatched

The contract:

* A **handler** is ``handler(ctx, request) -> Reply``. ``ctx`` is the instance's narrow
  :class:`AgentContext` (identity, facts, classes, slot, settings, counters; nothing else),
  ``request`` the decoded request (:class:`RequestView`: ``request.request`` headers,
  ``action``, ``data``). The **reply** is a reply message string (:func:`ok` / :func:`fail`
  build go-choria RPC replies), ``None`` for no reply at all (a timeout at the client), or
  :class:`Later` for a reply after a delay. Exceptions of the request-error kinds are counted
  ``malformed`` for every instance of the worker; a handler must not block.
* ``Action(shared=True)``: the reply is the same for every instance, so the handler runs once
  per request per worker and the reply is encoded once (``emulatedN#generate``, ``pong``).
* ``Action(validate=...)``: ``validate(data) -> str | None`` runs once per request per worker
  before any handler; a string is the (shared) error reply, e.g. a DDL input validation failure.
* Agent-level errors are answered as go-choria does, once per request: a body that is not an
  RPC request or is for another agent (status 4), an unknown action (status 2).
* **Per-node state** lives in the plug-in, indexed by ``ctx.slot`` (dense ``0..size-1`` within
  a worker; ``setup`` learns ``size``), e.g. in ``array`` columns, so it costs bytes, not objects.
* ``respond=`` replaces RPC dispatch for agents whose payload is not an RPC body (discovery).

The hot path stays one dict lookup per message: a worker's :class:`~.instance.Layout` holds the
agents it subscribed to by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol, Union

from ..protocol import Request, RPCReply, RPCRequest, StatusCode

if TYPE_CHECKING:
    from .timers import TimerHeap

# go-choria agents.Metadata, in the order rpcutil#agent_inventory writes it
METADATA_KEYS = ("license", "author", "timeout", "name", "version", "url", "description")


class Later:
    """A reply ``delay`` seconds from now; ``message`` may be a callable run then (state that changed)."""

    __slots__ = ("delay", "message")

    def __init__(self, delay: float, message: str | Callable[[], str | None] | None):
        self.delay = max(0.0, float(delay))
        self.message = message

    def resolve(self) -> str | None:
        message = self.message
        return message() if callable(message) else message


Reply = Union[str, Later, None]


class NodeSettings:
    """What a worker's instances share that agents may read (``choria_util#info``, ``get_config_item``)."""

    __slots__ = ("servers", "server_urls", "secure", "tls", "registration_interval", "started", "instances")

    def __init__(
        self,
        servers: Iterable[str] = (),
        server_urls: Iterable[str] = (),
        secure: bool = False,
        tls: bool = False,
        registration_interval: float = 0.0,
        started: float = 0.0,
        instances: int = 0,
    ):
        self.servers = tuple(servers)  # host:port
        self.server_urls = tuple(server_urls)  # nats://host:port
        self.secure = secure  # requests must be signed (--secure)
        self.tls = tls  # TLS to NATS
        self.registration_interval = registration_interval
        self.started = started  # unix time the worker started
        self.instances = instances  # instances in this worker


class AgentContext(Protocol):
    """The instance as an agent sees it; implemented by :class:`~.instance.Instance`."""

    identity: str
    facts: dict[str, Any]
    classes: tuple[str, ...]
    slot: int  # 0..instances-1 within the worker: index per-node state arrays with it
    index: int  # the instance number (NAME-index)
    reconnects: int

    @property
    def agents(self) -> tuple[str, ...]:
        """The agents this instance answers for."""

    @property
    def known_agents(self) -> tuple[str, ...]:
        """Every agent the instance knows (go-choria's KnownAgents), as rpcutil reports them."""

    @property
    def collectives(self) -> tuple[str, ...]:
        """The collectives the instance subscribes to."""

    @property
    def settings(self) -> NodeSettings:
        """The emulator-wide node settings."""

    @property
    def connected_url(self) -> str:
        """The broker URL of the current connection."""

    @property
    def max_payload(self) -> int:
        """The broker's max_payload from its INFO."""

    def counters(self) -> dict[str, int]:
        """The instance's request and reply counters."""

    def agent_inventory(self) -> list[dict[str, Any]]:
        """One entry per agent, as rpcutil#agent_inventory reports it."""


class RequestView(Protocol):
    """The decoded request as a handler sees it (see :class:`~.requests.DecodedRequest`)."""

    payload: bytes
    rpc_error: str

    @property
    def request(self) -> Request | None:
        """The protocol.Request (agent, callerid, senderid, requestid, time, ttl...); set once decoded."""

    @property
    def action(self) -> str:
        """The RPC action asked for."""

    @property
    def data(self) -> dict[str, Any]:
        """The RPC request's data."""

    def rpc_body(self) -> RPCRequest | None:
        """The decoded RPC body; None when the body is not an RPC request."""

    def share(self, reply: Reply) -> Reply:
        """Mark ``reply`` as every instance's reply to this request, so it is encoded once."""


Handler = Callable[[AgentContext, RequestView], Reply]
Validator = Callable[[dict[str, Any]], Optional[str]]


class WorkerServices(Protocol):
    """What a worker offers an agent's ``setup`` (once per worker process, before any request)."""

    @property
    def size(self) -> int:
        """Instances in this worker: the length of per-node state arrays."""

    @property
    def timers(self) -> TimerHeap:
        """The worker's one timer heap."""

    @property
    def nodes(self) -> Sequence[AgentContext]:
        """The worker's instances, by slot."""

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Any:
        """Run callback(*args) in the worker's event loop after delay seconds."""

    def when_running(self, callback: Callable[[], Any]) -> None:
        """Run ``callback()`` once the worker's event loop runs."""

    def connect_later(self, node: AgentContext, delay: float) -> None:
        """From ``setup``: connect ``node`` only ``delay`` seconds after the start (a late starter)."""

    def disconnect(self, node: AgentContext, down: float) -> bool:
        """Drop ``node``'s connection for ``down`` seconds."""


def ok(data: Any) -> str:
    """A successful RPC reply message with ``data``."""
    return RPCReply(data=data).encode()


def fail(code: StatusCode, message: str) -> str:
    """An RPC error reply (go-choria status codes 1–5)."""
    return RPCReply.error(code, message).encode()


class Action:
    __slots__ = ("handler", "shared", "validate")

    def __init__(self, handler: Handler, shared: bool = False, validate: Validator | None = None):
        self.handler = handler
        self.shared = shared
        self.validate = validate


class Agent:
    """One agent: its actions, its DDL metadata, and how a request reaches an action."""

    __slots__ = ("name", "actions", "metadata", "setup", "_respond")

    def __init__(
        self,
        name: str,
        actions: Mapping[str, Action],
        metadata: Mapping[str, Any] | None = None,
        setup: Callable[[WorkerServices], None] | None = None,
        respond: Handler | None = None,
    ):
        self.name = name
        self.actions = dict(actions)
        self.metadata = {"name": name, **(metadata or {})}
        self.setup = setup
        self._respond = respond

    def inventory(self) -> dict[str, Any]:
        """go-choria ``AgentInventoryInfoReply``: ``agent`` then the metadata in Go's field order."""
        meta = self.metadata
        return {"agent": self.name, **{key: meta.get(key, "") for key in METADATA_KEYS}}

    def respond(self, ctx: AgentContext, request: RequestView) -> Reply:
        """The reply of ``ctx`` to ``request``; instance-independent outcomes go through ``request.share``."""
        if self._respond is not None:
            return self._respond(ctx, request)
        body = request.rpc_body()
        if body is None:
            return request.share(fail(StatusCode.INVALID_DATA, f"Could not process request: {request.rpc_error}"))
        if body.agent != self.name:
            return request.share(
                fail(StatusCode.INVALID_DATA, f"Could not process request: body is for agent {body.agent}")
            )
        action = self.actions.get(body.action)
        if action is None:
            return request.share(fail(StatusCode.UNKNOWN_ACTION, f"Unknown action {body.action} for agent {self.name}"))
        if action.validate is not None:
            error = action.validate(body.data)
            if error is not None:
                return request.share(error)
        if action.shared:
            return request.share(action.handler(ctx, request))
        return action.handler(ctx, request)


class AgentRegistry:
    """Agents by name, in registration (= subscription) order."""

    __slots__ = ("_agents",)

    def __init__(self, agents: Iterable[Agent] = ()):
        self._agents: dict[str, Agent] = {}
        for agent in agents:
            self.add(agent)

    def add(self, agent: Agent) -> None:
        if agent.name in self._agents:
            raise ValueError(f"agent {agent.name} is registered twice")
        self._agents[agent.name] = agent

    def get(self, name: str) -> Agent | None:
        return self._agents.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._agents

    def __iter__(self) -> Iterator[Agent]:
        return iter(self._agents.values())

    def __len__(self) -> int:
        return len(self._agents)

    def names(self) -> tuple[str, ...]:
        """Subscription order: the order agents were added."""
        return tuple(self._agents)

    def known_agents(self) -> tuple[str, ...]:
        """go-choria ``KnownAgents()``: sorted."""
        return tuple(sorted(self._agents))

    def actions(self) -> dict[str, frozenset[str]]:
        """``{agent: {action, ...}}`` (agents with custom ``respond`` have none)."""
        return {name: frozenset(agent.actions) for name, agent in self._agents.items()}

    def known_action(self, agent: str, action: str) -> bool:
        """Whether ``agent`` implements ``action`` (go-choria audits only those)."""
        found = self._agents.get(agent)
        return found is not None and action in found.actions

    def inventory(self) -> list[dict[str, Any]]:
        """``rpcutil#agent_inventory``: every agent with its metadata, sorted by name."""
        return [self._agents[name].inventory() for name in self.known_agents()]
