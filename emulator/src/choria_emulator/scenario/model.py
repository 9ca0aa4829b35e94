"""The scenario file: load it, check every field against the DDLs, compile its templates.

The format is documented in docs/scenarios.md. Everything that can be wrong is found here, at
start, with the file and the field in the message (``deploy.yaml: agents.puppet.actions.status.
reply.idlng: puppet#status has no output idlng (outputs: applying, ...)``), so a worker never
meets a bad scenario at run time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ..ddl.agent import Action, AgentDDL, coerce
from ..protocol.errors import ProtocolError
from ..protocol.matching import FactFilter, match_classes, match_facts, match_identity
from . import rng
from .errors import ScenarioError
from .expr import Expr, Names, Template
from .library import LIBRARY
from .state import TYPECODES

FORMAT = 1
TOP_KEYS = ("scenario", "description", "seed", "groups", "state", "start", "churn", "agents")
GROUP_KEYS = ("percent", "identity", "fact", "class")
BEHAVIOUR_KEYS = ("groups", "if", "latency", "no_reply", "fail", "set", "after", "reply")
START_KEYS = ("groups", "if", "set", "after")
AFTER_KEYS = ("delay", "set")
FAIL_KEYS = ("rate", "statuscode", "statusmsg")
CHURN_KEYS = {"late": ("percent", "groups", "delay"), "disconnect": ("percent", "groups", "every", "down")}


def _known(where: str, data: dict[str, Any], keys: Iterable[str]) -> None:
    keys = tuple(keys)
    for key in data:
        if key not in keys:
            raise ScenarioError(f"{where}{'.' if where else ''}{key}: unknown field (fields: {', '.join(keys)})")


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScenarioError(f"{where}: must be a mapping, not {_kind(value)}")
    for key in value:
        if not isinstance(key, str):
            raise ScenarioError(f"{where}: keys must be text, not {key!r}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {value!r}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _strings(value: Any, where: str) -> list[str]:
    """One string or a list of strings."""
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item for item in items):
        raise ScenarioError(f"{where}: must be text or a list of text, not {_kind(value)}")
    return items


# ---- node groups -----------------------------------------------------------------------------


class Group:
    """A named set of nodes: by identity, facts, classes, and/or a share of nodes drawn with the seed."""

    def __init__(self, name: str, spec: Any, where: str):
        spec = _mapping(spec, where)
        _known(where, spec, GROUP_KEYS)
        if not spec:
            raise ScenarioError(f"{where}: a group needs at least one of {', '.join(GROUP_KEYS)}")
        self.name = name
        self.salt = rng.key_of(f"group:{name}")
        self.share: float | None = None
        if "percent" in spec:
            percent = spec["percent"]
            if isinstance(percent, str) and percent.strip().endswith("%"):
                percent = percent.strip()[:-1]
            try:
                value = float(percent) if not isinstance(percent, bool) else -1.0
            except (TypeError, ValueError):
                value = -1.0
            if not 0.0 <= value <= 100.0:
                raise ScenarioError(f"{where}.percent: must be a number from 0 to 100, not {spec['percent']!r}")
            self.share = value / 100.0
        self.identities = tuple(_strings(spec["identity"], f"{where}.identity")) if "identity" in spec else ()
        self.classes = tuple(_strings(spec["class"], f"{where}.class")) if "class" in spec else ()
        self.facts: list[FactFilter] = []
        for i, text in enumerate(_strings(spec["fact"], f"{where}.fact") if "fact" in spec else []):
            try:
                self.facts.append(FactFilter.parse(text))
            except ProtocolError as exc:
                raise ScenarioError(f"{where}.fact[{i}]: {exc}") from None

    def contains(self, seed: int, index: int, identity: str, facts: dict[str, Any], classes: tuple[str, ...]) -> bool:
        if self.identities and not match_identity(list(self.identities), identity):
            return False
        if self.classes and not match_classes(list(self.classes), classes):
            return False
        if self.facts and not match_facts(self.facts, facts):
            return False
        return self.share is None or rng.spread(seed, self.salt, index) < self.share


# ---- behaviours --------------------------------------------------------------------------------


class Failure:
    __slots__ = ("rate", "statuscode", "statusmsg")

    def __init__(self, spec: Any, names: Names, where: str):
        spec = _mapping(spec, where)
        _known(where, spec, FAIL_KEYS)
        self.rate = rng.parse_rate(spec.get("rate", 1.0), f"{where}.rate")
        code = spec.get("statuscode", 1)
        if isinstance(code, bool) or not isinstance(code, int) or not 1 <= code <= 5:
            raise ScenarioError(f"{where}.statuscode: must be an integer from 1 to 5, not {code!r}")
        self.statuscode = code
        message = spec.get("statusmsg", DEFAULT_MESSAGES[code])
        if not isinstance(message, str):
            raise ScenarioError(f"{where}.statusmsg: must be text, not {_kind(message)}")
        self.statusmsg = Template(message, names, f"{where}.statusmsg")


DEFAULT_MESSAGES = {1: "Aborted", 2: "Unknown Action", 3: "Missing Data", 4: "Invalid Data", 5: "Unknown Error"}


class Transition:
    """``after``: a state change some time after the request (``set`` evaluated then)."""

    __slots__ = ("delay", "set")

    def __init__(self, spec: Any, scenario: Scenario, names: Names, where: str):
        spec = _mapping(spec, where)
        _known(where, spec, AFTER_KEYS)
        if "delay" not in spec or "set" not in spec:
            raise ScenarioError(f"{where}: an 'after' entry needs delay and set")
        self.delay = rng.parse_distribution(spec["delay"], f"{where}.delay")
        self.set = scenario.assignments(spec["set"], names, f"{where}.set")


class Behaviour:
    """What a node does for one action: the first behaviour of the list whose conditions hold."""

    __slots__ = ("where", "groups", "condition", "latency", "no_reply", "failures", "set", "after", "reply")

    def __init__(self, spec: Any, scenario: Scenario, action: Action, names: Names, where: str):
        spec = _mapping(spec, where)
        _known(where, spec, BEHAVIOUR_KEYS)
        self.where = where
        self.groups = scenario.group_names(spec.get("groups"), f"{where}.groups")
        self.condition = scenario.condition(spec.get("if"), names, f"{where}.if")
        self.latency = rng.parse_distribution(spec["latency"], f"{where}.latency") if "latency" in spec else None
        self.no_reply = rng.parse_rate(spec.get("no_reply", 0.0), f"{where}.no_reply")
        failures = spec.get("fail", [])
        failures = failures if isinstance(failures, list) else [failures]
        self.failures = [Failure(item, names, f"{where}.fail[{i}]") for i, item in enumerate(failures)]
        if sum(f.rate for f in self.failures) > 1.0 + 1e-9:
            raise ScenarioError(f"{where}.fail: the rates add up to more than 1")
        self.set = scenario.assignments(spec.get("set", {}), names, f"{where}.set")
        after = spec.get("after", [])
        after = after if isinstance(after, list) else [after]
        self.after = [Transition(item, scenario, names, f"{where}.after[{i}]") for i, item in enumerate(after)]
        reply = _mapping(spec.get("reply", {}), f"{where}.reply")
        self.reply: dict[str, Template] = {}
        for key, value in reply.items():
            output = action.outputs.get(key)
            if output is None:
                known = ", ".join(action.outputs) or "none"
                raise ScenarioError(
                    f"{where}.reply.{key}: {action.agent}#{action.name} has no output {key} (outputs: {known})"
                )
            template = Template(value, names, f"{where}.reply.{key}")
            if template.constant and output.type and not coerce(output.type, value)[0]:
                raise ScenarioError(f"{where}.reply.{key}: {_kind(value)} is not a {output.type} (the DDL's type)")
            self.reply[key] = template

    @property
    def draws(self) -> bool:
        """Whether the behaviour needs random draws (rates or a non-constant latency)."""
        return bool(self.no_reply or self.failures or (self.latency is not None and not _is_fixed(self.latency)))


def _is_fixed(distribution: rng.Distribution) -> bool:
    return isinstance(distribution, rng.Fixed)


class ActionScript:
    """The behaviours of one ``agent#action``."""

    __slots__ = ("agent", "action", "ddl", "behaviours", "latency", "key", "uses_counter")

    def __init__(self, ddl: Action, behaviours: list[Behaviour], latency: rng.Distribution | None):
        self.agent = ddl.agent
        self.action = ddl.name
        self.ddl = ddl
        self.behaviours = behaviours
        self.latency = latency
        self.key = rng.key_of(f"action:{ddl.agent}#{ddl.name}")
        self.uses_counter = any(
            "counter" in template.refs
            for b in behaviours
            for template in [*b.reply.values(), *b.set.values(), *(f.statusmsg for f in b.failures)]
        ) or any(b.condition is not None and "counter" in b.condition.refs for b in behaviours)


class StartRule:
    """``start``: state a node takes when it starts (and later, with ``after``)."""

    __slots__ = ("where", "groups", "condition", "set", "after")

    def __init__(self, spec: Any, scenario: Scenario, names: Names, where: str):
        spec = _mapping(spec, where)
        _known(where, spec, START_KEYS)
        self.where = where
        self.groups = scenario.group_names(spec.get("groups"), f"{where}.groups")
        self.condition = scenario.condition(spec.get("if"), names, f"{where}.if")
        self.set = scenario.assignments(spec.get("set", {}), names, f"{where}.set")
        after = spec.get("after", [])
        after = after if isinstance(after, list) else [after]
        self.after = [Transition(item, scenario, names, f"{where}.after[{i}]") for i, item in enumerate(after)]


class ChurnRule:
    __slots__ = ("kind", "groups", "share", "salt", "delay", "every", "down")

    def __init__(self, kind: str, spec: Any, scenario: Scenario, where: str):
        spec = _mapping(spec, where)
        _known(where, spec, CHURN_KEYS[kind])
        self.kind = kind
        self.salt = rng.key_of(f"churn:{kind}")
        self.groups = scenario.group_names(spec.get("groups"), f"{where}.groups")
        if "percent" not in spec and not self.groups:
            raise ScenarioError(f"{where}: say which nodes with percent and/or groups")
        share = spec.get("percent", 100)
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 100:
            raise ScenarioError(f"{where}.percent: must be a number from 0 to 100, not {share!r}")
        self.share = float(share) / 100.0
        self.delay = self.every = self.down = None
        if kind == "late":
            if "delay" not in spec:
                raise ScenarioError(f"{where}.delay: is required (how long late nodes wait before connecting)")
            self.delay = rng.parse_distribution(spec["delay"], f"{where}.delay")
        else:
            for key in ("every", "down"):
                if key not in spec:
                    raise ScenarioError(f"{where}.{key}: is required for disconnect churn")
            self.every = rng.parse_distribution(spec["every"], f"{where}.every")
            self.down = rng.parse_distribution(spec["down"], f"{where}.down")
            if self.every.bound() == 0:
                raise ScenarioError(f"{where}.every: must be above 0")


# ---- the file -----------------------------------------------------------------------------------


def read_file(path: Path, chain: tuple[Path, ...] = ()) -> Any:
    """The YAML of ``path`` with its ``extends`` chain merged in (mappings merge, anything else replaces)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{path}: not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict) or "extends" not in data:
        return data
    bases = data.pop("extends")
    bases = bases if isinstance(bases, list) else [bases]
    merged: Any = {}
    for base in bases:
        if not isinstance(base, str) or not base:
            raise ScenarioError(f"{path}: extends: must be the path of another scenario file, or a list of them")
        base_path = Path(base) if Path(base).is_absolute() else path.parent / base
        if not base_path.exists() and "/" not in base:  # a shipped scenario by name: extends: [puppet]
            shipped = LIBRARY / f"{base.removesuffix('.yaml')}.yaml"
            base_path = shipped if shipped.is_file() else base_path
        resolved = base_path.resolve()
        if resolved in chain or resolved == path.resolve():
            raise ScenarioError(f"{path}: extends: {base} extends this file again (a loop)")
        merged = merge(merged, read_file(base_path, (*chain, path.resolve())))
    return merge(merged, data)


def merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    return override


# ---- the scenario ------------------------------------------------------------------------------


class Scenario:
    """A checked scenario, ready for :class:`~choria_emulator.scenario.engine.Engine`."""

    def __init__(self, data: Any, ddls: Iterable[AgentDDL] = (), source: str = "<scenario>"):
        self.source = source
        self.ddls = {ddl.name: ddl for ddl in ddls}
        try:
            self._build(data)
        except ScenarioError as exc:
            raise ScenarioError(f"{source}: {exc}") from None

    @classmethod
    def load(cls, path: str | Path, ddls: Iterable[AgentDDL] = ()) -> Scenario:
        """Load a file; ``extends: [a.yaml, b.yaml]`` (relative to the file) merges this file over others."""
        path = Path(path)
        return cls(read_file(path), ddls, str(path))

    # -- building blocks shared by the parts --------------------------------------------------
    def group_names(self, value: Any, where: str) -> tuple[str, ...]:
        if value is None:
            return ()
        names = _strings(value, where)
        for name in names:
            if name not in self.groups:
                known = ", ".join(self.groups) or "none"
                raise ScenarioError(f"{where}: unknown group {name!r} (groups: {known})")
        return tuple(names)

    def condition(self, value: Any, names: Names, where: str) -> Expr | None:
        if value is None:
            return None
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, str):
            raise ScenarioError(f"{where}: must be an expression (text), not {_kind(value)}")
        text = value.strip()
        if text.startswith("{{") and text.endswith("}}"):
            text = text[2:-2]
        return Expr(text, names, where)

    def assignments(self, value: Any, names: Names, where: str) -> dict[str, Template]:
        value = _mapping(value, where)
        result = {}
        for key, item in value.items():
            if key not in self.state_types:
                declared = ", ".join(self.state_types) or "none"
                raise ScenarioError(f"{where}.{key}: {key} is not a declared state variable (declared: {declared})")
            template = Template(item, names, f"{where}.{key}")
            kind = self.state_types[key]
            if template.constant and kind != "string" and not coerce(kind, item)[0]:
                raise ScenarioError(f"{where}.{key}: {_kind(item)} is not a {kind} (state.{key} is a {kind})")
            result[key] = template
        return result

    # -- the file -------------------------------------------------------------------------------
    def _build(self, data: Any) -> None:
        data = _mapping(data if data is not None else {}, "the file")
        _known("", data, TOP_KEYS)
        if data.get("scenario") != FORMAT:
            raise ScenarioError(f"scenario: must be {FORMAT} (the format version), not {data.get('scenario')!r}")
        description = data.get("description", "")
        if not isinstance(description, str):
            raise ScenarioError("description: must be text")
        self.description = description
        seed = data.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ScenarioError(f"seed: must be an integer, not {_kind(seed)}")
        self.seed = seed
        self.groups = {
            name: Group(name, spec, f"groups.{name}")
            for name, spec in _mapping(data.get("groups") or {}, "groups").items()
        }
        self._build_state(_mapping(data.get("state") or {}, "state"))
        node_names = Names(frozenset(self.state_types), None, request=False)
        start = data.get("start") or []
        if not isinstance(start, list):
            raise ScenarioError("start: must be a list of rules")
        self.start = [StartRule(item, self, node_names, f"start[{i}]") for i, item in enumerate(start)]
        churn = _mapping(data.get("churn") or {}, "churn")
        _known("churn", churn, CHURN_KEYS)
        self.churn = {kind: ChurnRule(kind, spec, self, f"churn.{kind}") for kind, spec in churn.items()}
        self.actions: dict[tuple[str, str], ActionScript] = {}
        self.agent_latency: dict[str, rng.Distribution | None] = {}
        for agent, spec in _mapping(data.get("agents") or {}, "agents").items():
            self._build_agent(agent, spec, f"agents.{agent}")

    def _build_state(self, state: dict[str, Any]) -> None:
        self.state_types: dict[str, str] = {}
        self.state_defaults: dict[str, Template] = {}
        specs = {}
        for name, spec in state.items():
            where = f"state.{name}"
            if not name.isidentifier():
                raise ScenarioError(f"{where}: a state variable name is a word (letters, digits, _)")
            spec = _mapping(spec, where)
            _known(where, spec, ("type", "default"))
            kind = spec.get("type")
            if kind not in TYPECODES:
                raise ScenarioError(f"{where}.type: must be one of {', '.join(TYPECODES)}, not {kind!r}")
            self.state_types[name] = kind
            specs[name] = spec
        names = Names(frozenset(), None, request=False)  # defaults see identity, index, facts: not other state
        for name, spec in specs.items():
            kind = self.state_types[name]
            default = spec.get("default", {"boolean": False, "integer": 0, "float": 0.0, "string": ""}[kind])
            template = Template(default, names, f"state.{name}.default")
            if template.constant and kind != "string" and not coerce(kind, default)[0]:
                raise ScenarioError(f"state.{name}.default: {_kind(default)} is not a {kind}")
            self.state_defaults[name] = template

    def _build_agent(self, agent: str, spec: Any, where: str) -> None:
        ddl = self.ddls.get(agent)
        if ddl is None:
            loaded = ", ".join(sorted(self.ddls)) or "none"
            raise ScenarioError(f"{where}: no DDL of agent {agent} is loaded (--ddl; loaded: {loaded})")
        spec = _mapping(spec, where)
        _known(where, spec, ("latency", "actions"))
        latency = rng.parse_distribution(spec["latency"], f"{where}.latency") if "latency" in spec else None
        self.agent_latency[agent] = latency
        for action_name, items in _mapping(spec.get("actions") or {}, f"{where}.actions").items():
            at = f"{where}.actions.{action_name}"
            action = ddl.actions.get(action_name)
            if action is None:
                raise ScenarioError(
                    f"{at}: agent {agent} has no action {action_name} (actions: {', '.join(ddl.actions)})"
                )
            names = Names(frozenset(self.state_types), frozenset(action.inputs), what=f"{agent}#{action_name}")
            if items is None:
                items = [{}]
            listed = isinstance(items, list)
            items = items if listed else [items]
            behaviours = [
                Behaviour(item, self, action, names, f"{at}[{i}]" if listed else at) for i, item in enumerate(items)
            ]
            self.actions[(agent, action_name)] = ActionScript(action, behaviours, latency)

    # -- facts about the whole scenario ---------------------------------------------------------
    def uses_draws(self) -> bool:
        return any(b.draws for script in self.actions.values() for b in script.behaviours) or any(
            d is not None and not _is_fixed(d) for d in self.agent_latency.values()
        )

    def max_latency(self, agent: str, action: str) -> float:
        script = self.actions.get((agent, action))
        if script is None:
            return 0.0
        bounds = [b.latency.bound() for b in script.behaviours if b.latency is not None]
        if script.latency is not None:
            bounds.append(script.latency.bound())
        return max(bounds, default=0.0)

    def summary(self) -> dict[str, Any]:
        """What the scenario covers, for ``choria-emulator scenario validate`` and logs."""
        return {
            "source": self.source,
            "description": self.description,
            "seed": self.seed,
            "groups": sorted(self.groups),
            "state": dict(self.state_types),
            "actions": sorted(f"{agent}#{action}" for agent, action in self.actions),
            "churn": sorted(self.churn),
            "start_rules": len(self.start),
            "unbounded_latency": sorted(
                f"{agent}#{action}" for agent, action in self.actions if math.isinf(self.max_latency(agent, action))
            ),
        }
