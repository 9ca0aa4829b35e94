"""DDL agents as plug-ins of the daemon's agent registry (``emulate --ddl ... [--scenario ...]``).

:func:`build_agents` runs in the supervisor: it turns every loaded DDL into a registry
:class:`~choria_emulator.daemon.registry.Agent` with one action per DDL action. All of them
share one :class:`ScenarioRuntime`, whose :class:`~.engine.Engine` is made in each worker by
the agents' ``setup`` (after the fork, so every worker holds the state of its own nodes):
state is shared between agents, so ``nrpe#runcommand`` can read what ``appmgr#upgrade`` wrote.

* Input validation is the registry's ``validate`` hook: once per request per worker, and the
  failure reply (status 1, typed defaults) is encoded once for every node.
* An action without behaviours is ``shared``: one typed-defaults reply for every node.
* An action with behaviours asks the engine per node; a delay becomes a registry ``Later``
  on the worker's one timer heap.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from ..daemon.registry import Action as RegistryAction
from ..daemon.registry import Agent, AgentContext, Later, RequestView, WorkerServices
from ..ddl.agent import Action, AgentDDL
from ..protocol import StatusCode
from .engine import Engine, encode_body
from .engine import RequestView as EngineRequest
from .model import Scenario

REQUEST_CACHE = 256  # requests whose per-worker parts (validation, shared bodies) are kept


class ScenarioRuntime:
    """The scenario of one emulator; :attr:`engine` exists in worker processes only."""

    def __init__(self, ddls: Sequence[AgentDDL], scenario: Scenario | None = None, seed: int | None = None):
        self.ddls = list(ddls)
        self.scenario = scenario
        self.seed = seed
        self.engine: Engine | None = None
        self.services: WorkerServices | None = None
        self._requests: OrderedDict[int, tuple[Any, EngineRequest]] = OrderedDict()
        self.churned = 0

    # ---- per worker ---------------------------------------------------------------------------
    def setup(self, services: WorkerServices) -> None:
        """Called by every DDL agent's ``setup``; the first call in a worker builds the engine."""
        if self.engine is not None:
            return
        self.services = services
        self.engine = Engine(self.ddls, services.nodes, self.scenario, self.seed, timers=services.timers)
        if self.scenario is not None:
            late = self.scenario.churn.get("late")
            if late is not None:
                for node in services.nodes:
                    if self.engine.churn_selected("late", node):
                        services.connect_later(node, self.engine.churn_draw("late", "delay", node, 0))
            services.when_running(self.start)

    def start(self) -> None:
        """The worker's loop runs: apply the start rules, begin the disconnect churn."""
        engine, services = self.engine, self.services
        assert engine is not None and services is not None
        engine.start(self._unused_publish)
        if self.scenario is not None and "disconnect" in self.scenario.churn:
            for node in services.nodes:
                if engine.churn_selected("disconnect", node):
                    services.call_later(engine.churn_draw("disconnect", "every", node, 0), self._disconnect, node, 0)

    def _disconnect(self, node: AgentContext, number: int) -> None:
        engine, services = self.engine, self.services
        assert engine is not None and services is not None
        down = engine.churn_draw("disconnect", "down", node, number)
        if services.disconnect(node, down):
            self.churned += 1
        every = engine.churn_draw("disconnect", "every", node, number + 1)
        services.call_later(down + every, self._disconnect, node, number + 1)

    @staticmethod
    def _unused_publish(node: Any, token: Any, reply: Any) -> None:
        raise RuntimeError("delayed replies go through the registry's Later")  # pragma: no cover

    # ---- per request --------------------------------------------------------------------------
    def request(self, decoded: RequestView) -> EngineRequest:
        """The engine's view of ``decoded``, made once per request per worker (an LRU by identity)."""
        key = id(decoded)
        entry = self._requests.get(key)
        if entry is not None and entry[0] is decoded:
            return entry[1]
        envelope = decoded.request
        view = EngineRequest(
            envelope.agent,
            decoded.action,
            decoded.data,
            caller=envelope.callerid,
            sender=envelope.senderid,
            requestid=envelope.requestid,
            collective=envelope.collective,
            now=time.time(),
        )
        self._requests[key] = (decoded, view)  # holding decoded keeps its id from being reused
        if len(self._requests) > REQUEST_CACHE:
            self._requests.popitem(last=False)
        return view

    def respond(self, ctx: AgentContext, decoded: RequestView) -> str | Later | None:
        engine = self.engine
        assert engine is not None, "the agent's setup did not run"
        reply = engine.respond(ctx, self.request(decoded))
        if reply is None:
            return None
        if reply.delay > 0:
            return Later(reply.delay, reply.body)
        return reply.body


def _validator(action: Action):
    def validate(data: dict[str, Any]) -> str | None:
        problem = action.validate_request(data)
        if problem is None:
            return None
        return encode_body(StatusCode.ABORTED, f"Validation failed: {problem}", action.typed_outputs())

    return validate


def _defaults(action: Action):
    body = encode_body(StatusCode.OK, "OK", action.typed_outputs())

    def reply(ctx: AgentContext, request: RequestView) -> str:
        return body

    return reply


def build_agents(
    ddls: Sequence[AgentDDL], scenario: Scenario | None = None, seed: int | None = None
) -> tuple[list[Agent], ScenarioRuntime]:
    """Registry agents for ``ddls`` (in their order), driven by ``scenario``."""
    runtime = ScenarioRuntime(ddls, scenario, seed)
    scripted = set(scenario.actions) if scenario is not None else set()
    agents = []
    for ddl in ddls:
        actions = {}
        for name, action in ddl.actions.items():
            validate = _validator(action)
            if (ddl.name, name) in scripted:
                actions[name] = RegistryAction(runtime.respond, validate=validate)
            else:
                actions[name] = RegistryAction(_defaults(action), shared=True, validate=validate)
        agents.append(Agent(ddl.name, actions, metadata=dict(ddl.metadata), setup=runtime.setup))
    return agents, runtime
