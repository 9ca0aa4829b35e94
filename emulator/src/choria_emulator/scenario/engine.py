"""Runs a scenario inside one worker: decides each node's reply, delay and state changes.

The worker asks :meth:`Engine.respond` once per node per request. Work that is the same for
every node of the worker is done once per request (input validation, the request part of the
template context, and every reply body that reads no per-node value); a body that reads state
is built once per distinct state. Per node there are only flat arrays: the state table, one
byte per node per group, and a request count per node that keys the random draws. Delays and
``after`` changes go on the worker's one timer heap (:class:`~choria_emulator.daemon.timers.TimerHeap`).
"""

from __future__ import annotations

import logging
import time
from array import array
from collections.abc import Sequence
from typing import Any, Callable, Protocol

from ..daemon.timers import TimerHeap
from ..ddl.agent import Action, AgentDDL
from ..protocol import RPCReply, StatusCode
from . import rng
from .expr import Template
from .model import ActionScript, Behaviour, Scenario, StartRule, Transition
from .state import StateTable, StateView

log = logging.getLogger("choria_emulator.scenario")

NO_REPLY = None
_SEQ_LIMIT = 0xFFFFFFFF
# draw "streams" of one request: which uniform number is used for what
_NO_REPLY, _FAIL, _LAT1, _LAT2 = 1, 2, 3, 4


class Node(Protocol):
    slot: int
    index: int
    identity: str
    facts: dict[str, Any]
    classes: tuple[str, ...]


class Reply:
    """What a node answers: the RPC body text and how long it takes."""

    __slots__ = ("body", "delay", "statuscode")

    def __init__(self, body: str, delay: float = 0.0, statuscode: int = 0):
        self.body = body
        self.delay = delay
        self.statuscode = statuscode


def encode_body(statuscode: int, statusmsg: str, data: dict[str, Any]) -> str:
    return RPCReply(statuscode, statusmsg, data).encode()


class RequestView:
    """The per-request part of an agent call, shared by every node that handles it."""

    __slots__ = ("agent", "action", "data", "caller", "sender", "requestid", "collective", "now", "cache")

    def __init__(
        self,
        agent: str,
        action: str,
        data: dict[str, Any],
        caller: str = "",
        sender: str = "",
        requestid: str = "",
        collective: str = "",
        now: float | None = None,
    ):
        self.agent = agent
        self.action = action
        self.data = data
        self.caller = caller
        self.sender = sender
        self.requestid = requestid
        self.collective = collective
        self.now = time.time() if now is None else now
        self.cache: dict[Any, Any] = {}


class Engine:
    """One worker's scenario runtime (or, without a scenario, plain DDL agents with typed defaults)."""

    def __init__(
        self,
        ddls: Sequence[AgentDDL],
        nodes: Sequence[Node],
        scenario: Scenario | None = None,
        seed: int | None = None,
        timers: TimerHeap | None = None,
    ):
        self.ddls = {ddl.name: ddl for ddl in ddls}
        self.scenario = scenario
        self.nodes = nodes
        self.seed = seed if seed is not None else (scenario.seed if scenario is not None else 0)
        self.timers = timers if timers is not None else TimerHeap()  # the worker's one heap
        self.size = len(nodes)
        self.state = StateTable(scenario.state_types if scenario else {}, self.size)
        self.sequence = array("I", bytes(4 * self.size))
        self.members: dict[str, bytearray] = {}
        self.counters: dict[tuple[str, str], array] = {}
        self.render_errors = 0
        self._plans: dict[int, _Plan] = {}
        self._plan_owners: list[Any] = []
        self.replies_scheduled = 0
        self.transitions = 0
        self._publish: Callable[[Node, Any, Reply], None] | None = None
        if scenario is not None:
            self._init_groups(scenario)
            self._init_state(scenario)
            for key, script in scenario.actions.items():
                if script.uses_counter:
                    self.counters[key] = array("I", bytes(4 * self.size))

    # ---- set-up -------------------------------------------------------------------------------
    def _init_groups(self, scenario: Scenario) -> None:
        seed = self.seed
        for name, group in scenario.groups.items():
            members = bytearray(self.size)
            for node in self.nodes:
                if group.contains(seed, node.index, node.identity, node.facts, node.classes):
                    members[node.slot] = 1
            self.members[name] = members

    def _init_state(self, scenario: Scenario) -> None:
        for name, template in scenario.state_defaults.items():
            if template.constant:
                self.state.fill(name, template.value)
                continue
            for node in self.nodes:
                self.state.set(node.slot, name, template.render(self._node_context(node, None)))

    def in_groups(self, slot: int, groups: tuple[str, ...]) -> bool:
        members = self.members
        for name in groups:
            if not members[name][slot]:
                return False
        return True

    def group_size(self, name: str) -> int:
        return sum(self.members.get(name, b""))

    def start(self, publish: Callable[[Node, Any, Reply], None] | None = None) -> None:
        """Apply the ``start`` rules to every node; ``publish(node, token, reply)`` sends delayed replies."""
        self._publish = publish
        if self.scenario is None:
            return
        for number, rule in enumerate(self.scenario.start):
            key = rng.key_of(f"start:{number}")
            for node in self.nodes:
                self._apply_start(rule, node, key)

    def _apply_start(self, rule: StartRule, node: Node, key: int) -> None:
        if rule.groups and not self.in_groups(node.slot, rule.groups):
            return
        context = None
        if rule.condition is not None:
            context = self._node_context(node, None)
            if not rule.condition.evaluate(context):
                return
        self._assign(node, rule.set, None, context)
        for position, transition in enumerate(rule.after):
            self._schedule(node, transition, None, key, position)

    # ---- churn --------------------------------------------------------------------------------
    def churn_selected(self, kind: str, node: Node) -> bool:
        rule = self.scenario.churn.get(kind) if self.scenario is not None else None
        if rule is None:
            return False
        if rule.groups and not self.in_groups(node.slot, rule.groups):
            return False
        return rng.spread(self.seed, rule.salt, node.index) < rule.share

    def churn_draw(self, kind: str, field: str, node: Node, number: int) -> float:
        """A delay of churn rule ``kind`` (``delay``, ``every``, ``down``) for the node's ``number``-th event."""
        rule = self.scenario.churn[kind]  # type: ignore[union-attr]  # only called for a scenario with churn rules
        distribution = getattr(rule, field)
        salt = rng.key_of(f"churn:{kind}:{field}")
        return distribution.sample(
            rng.uniform(self.seed, node.index, salt, number, 1), rng.uniform(self.seed, node.index, salt, number, 2)
        )

    # ---- requests -----------------------------------------------------------------------------
    def action(self, agent: str, action: str) -> Action | None:
        ddl = self.ddls.get(agent)
        return ddl.actions.get(action) if ddl is not None else None

    def respond(self, node: Node, request: RequestView) -> Reply | None:
        """The reply of ``node`` to ``request``, or None for no reply at all."""
        cache = request.cache
        shared = cache.get("shared")
        if shared is None:
            shared = cache["shared"] = self._prepare(request)
        if isinstance(shared, Reply):
            return shared  # an unknown action, a validation failure, or an action with no behaviours
        script, inputs = shared
        return self._run(script, node, request, inputs)

    def _prepare(self, request: RequestView) -> Reply | tuple[ActionScript, dict[str, Any]]:
        """What does not depend on the node: the action, input validation, the default reply."""
        ddl = self.ddls[request.agent]
        action = ddl.actions.get(request.action)
        if action is None:
            message = f"Unknown action {request.action} for agent {request.agent}"
            return Reply(encode_body(StatusCode.UNKNOWN_ACTION, message, {}), statuscode=StatusCode.UNKNOWN_ACTION)
        problem = action.validate_request(request.data)
        if problem is not None:
            body = encode_body(StatusCode.ABORTED, f"Validation failed: {problem}", action.typed_outputs())
            return Reply(body, statuscode=StatusCode.ABORTED)
        script = self.scenario.actions.get((ddl.name, action.name)) if self.scenario is not None else None
        if script is None:
            return Reply(encode_body(StatusCode.OK, "OK", action.typed_outputs()))
        return script, action.with_defaults(request.data)

    def _run(self, script: ActionScript, node: Node, request: RequestView, inputs: dict[str, Any]) -> Reply | None:
        slot = node.slot
        context: dict[str, Any] | None = None
        counter = 0
        if script.uses_counter:
            counts = self.counters[(script.agent, script.action)]
            if counts[slot] < _SEQ_LIMIT:
                counts[slot] += 1
            counter = counts[slot]
        behaviour: Behaviour | None = None
        for candidate in script.behaviours:
            if candidate.groups and not self.in_groups(slot, candidate.groups):
                continue
            if candidate.condition is not None:
                if context is None:
                    context = self._context(node, request, inputs, counter)
                if not candidate.condition.evaluate(context):
                    continue
            behaviour = candidate
            break
        action = script.ddl
        if behaviour is None:
            reply = request.cache.get("default")
            if reply is None:
                reply = request.cache["default"] = Reply(encode_body(0, "OK", action.typed_outputs()))
            return reply
        sequence = 0
        latency = behaviour.latency or script.latency
        if behaviour.draws or (latency is not None and not isinstance(latency, rng.Fixed)):
            sequence = self.sequence[slot]
            self.sequence[slot] = sequence + 1 if sequence < _SEQ_LIMIT else 0
        seed, index, key = self.seed, node.index, script.key
        if behaviour.no_reply and rng.uniform(seed, index, key, sequence, _NO_REPLY) < behaviour.no_reply:
            return NO_REPLY
        delay = 0.0
        if latency is not None:
            delay = latency.sample(
                rng.uniform(seed, index, key, sequence, _LAT1), rng.uniform(seed, index, key, sequence, _LAT2)
            )
            if delay > self.ddls[script.agent].timeout:
                return NO_REPLY  # go-choria stops an action at the DDL timeout and sends nothing
        if behaviour.failures:
            draw = rng.uniform(seed, index, key, sequence, _FAIL)
            for position, failure in enumerate(behaviour.failures):
                if draw < failure.rate:
                    return self._failure(behaviour, position, node, request, inputs, counter, delay)
                draw -= failure.rate
        if behaviour.set or behaviour.after:
            if context is None:
                context = self._context(node, request, inputs, counter)
            self._assign(node, behaviour.set, request, context, inputs)
            for position, transition in enumerate(behaviour.after):
                self._schedule(node, transition, inputs, key, position, sequence, request, delay)
        reply = self._reply(behaviour, action, node, request, inputs, counter)
        if delay:
            return Reply(reply.body, delay, reply.statuscode)
        return reply

    # ---- bodies -------------------------------------------------------------------------------
    def _plan(self, owner: Any, templates: Any) -> _Plan:
        """How to key the bodies ``templates`` build (made once per behaviour or failure)."""
        plan = self._plans.get(id(owner))
        if plan is None:
            plan = self._plans[id(owner)] = _Plan(templates, self.state)
            self._plan_owners.append(owner)  # keep ids unique while the plan is cached
        return plan

    def _reply(
        self,
        behaviour: Behaviour,
        action: Action,
        node: Node,
        request: RequestView,
        inputs: dict[str, Any],
        counter: int,
    ) -> Reply:
        plan = self._plan(behaviour, behaviour.reply.values())
        key = plan.key(node, behaviour)
        if key is not None:
            reply = request.cache.get(key)
            if reply is not None:
                return reply
        context = self._context(node, request, inputs, counter) if plan.dynamic else {}
        values = {name: template.render(context) for name, template in behaviour.reply.items()}
        reply = Reply(encode_body(0, "OK", action.typed_outputs(values)))
        if key is not None:
            request.cache[key] = reply
        return reply

    def _failure(
        self,
        behaviour: Behaviour,
        position: int,
        node: Node,
        request: RequestView,
        inputs: dict[str, Any],
        counter: int,
        delay: float,
    ) -> Reply:
        failure = behaviour.failures[position]
        plan = self._plan(failure, (failure.statusmsg,))
        key = plan.key(node, failure)
        reply = request.cache.get(key) if key is not None else None
        if reply is None:
            action = self.action(request.agent, request.action)
            assert action is not None
            context = self._context(node, request, inputs, counter) if plan.dynamic else {}
            message = self._render(failure.statusmsg, context)
            text = message if isinstance(message, str) else ""
            reply = Reply(encode_body(failure.statuscode, text, action.typed_outputs()), statuscode=failure.statuscode)
            if key is not None:
                request.cache[key] = reply
        return Reply(reply.body, delay, reply.statuscode) if delay else reply

    def _render(self, template: Template, context: dict[str, Any]) -> Any:
        value = template.render(context)
        if value is None and not template.constant:
            self.render_errors += 1
        return value

    # ---- state --------------------------------------------------------------------------------
    def _assign(
        self,
        node: Node,
        assignments: dict[str, Template],
        request: RequestView | None,
        context: dict[str, Any] | None,
        inputs: dict[str, Any] | None = None,
    ) -> None:
        if not assignments:
            return
        if context is None:
            context = (
                self._context(node, request, inputs or {}, 0) if request is not None else self._node_context(node, None)
            )
        values = {name: template.render(context) for name, template in assignments.items()}  # all read the old state
        state = self.state
        for name, value in values.items():
            state.set(node.slot, name, value)

    def _schedule(
        self,
        node: Node,
        transition: Transition,
        inputs: dict[str, Any] | None,
        key: int,
        position: int,
        sequence: int = 0,
        request: RequestView | None = None,
        base: float = 0.0,
    ) -> None:
        """Schedule an after change: base (the reply's delay: after means after the reply) plus its delay."""
        salt = rng.mix(key ^ (position + 1))
        delay = transition.delay.sample(
            rng.uniform(self.seed, node.index, salt, sequence, 1), rng.uniform(self.seed, node.index, salt, sequence, 2)
        )
        self.timers.call_later(base + delay, self._transition, node, transition, inputs, request)

    def _transition(
        self, node: Node, transition: Transition, inputs: dict[str, Any] | None, request: RequestView | None
    ) -> None:
        self.transitions += 1
        if request is not None:
            context = self._context(node, request, inputs or {}, 0)
            context["now"] = int(time.time())
        else:
            context = self._node_context(node, None)
        values = {name: template.render(context) for name, template in transition.set.items()}
        for name, value in values.items():
            self.state.set(node.slot, name, value)

    # ---- delayed replies ----------------------------------------------------------------------
    def send_later(self, node: Node, token: Any, reply: Reply) -> None:
        """Publish ``reply`` after its delay through the callback given to :meth:`start`."""
        if self._publish is None:
            raise RuntimeError("Engine.start(publish) was not called")
        self.replies_scheduled += 1
        self.timers.call_later(reply.delay, self._publish, node, token, reply)

    # ---- contexts -----------------------------------------------------------------------------
    def _node_context(self, node: Node, request: RequestView | None) -> dict[str, Any]:
        return {
            "identity": node.identity,
            "index": node.index,
            "name": node.identity,
            "facts": node.facts,
            "classes": node.classes,
            "state": StateView(self.state, node.slot),
            "counter": 0,
            "seed": self.seed,
            "now": int(time.time()),
        }

    def _context(self, node: Node, request: RequestView, inputs: dict[str, Any], counter: int) -> dict[str, Any]:
        base = request.cache.get("context")
        if base is None:  # the request's part, once per request
            base = request.cache["context"] = {
                "inputs": inputs,
                "now": int(request.now),
                "agent": request.agent,
                "action": request.action,
                "caller": request.caller,
                "sender": request.sender,
                "requestid": request.requestid,
                "collective": request.collective,
                "seed": self.seed,
            }
        return {
            **base,
            "identity": node.identity,
            "index": node.index,
            "name": node.identity,
            "facts": node.facts,
            "classes": node.classes,
            "state": StateView(self.state, node.slot),
            "counter": counter,
        }

    def stats(self) -> dict[str, Any]:
        return {
            "pending": len(self.timers),
            "transitions": self.transitions,
            "delayed_replies": self.replies_scheduled,
            "render_errors": self.render_errors,
            "state_bytes": self.state.nbytes,
            "distinct_strings": len(self.state.strings),
        }


class _Plan:
    """Which per-node values make the bodies of a set of templates differ, read fast from the arrays."""

    __slots__ = ("per_node", "arrays", "facts", "classes", "dynamic", "state")

    def __init__(self, templates: Any, state: StateTable):
        templates = list(templates)
        refs: set[str] = set()
        for template in templates:
            refs |= template.node_refs
        self.per_node = bool(refs & {"identity", "index", "name", "counter"})
        self.arrays = tuple(state.arrays[ref[6:]] for ref in sorted(refs) if ref.startswith("state."))
        self.facts = "facts" in refs
        self.classes = "classes" in refs
        self.dynamic = any(not template.constant for template in templates)
        self.state = state

    def key(self, node: Node, owner: Any) -> tuple[Any, ...] | None:
        """Equal keys give equal bodies; None when the body is the node's own (it reads its identity)."""
        if self.per_node:
            return None
        slot = node.slot
        key: tuple[Any, ...] = (id(owner), self.state.generation, *[values[slot] for values in self.arrays])
        if self.facts:
            key += (id(node.facts),)
        if self.classes:
            key += (node.classes,)
        return key
