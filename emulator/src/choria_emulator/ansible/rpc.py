"""``chorialab.choria.rpc``: one Choria RPC as the playbook ``mcollective`` task does it.

The steps: find the targets (``nodes``, else a ``node_set``, else the discovery filters with the
agent added, as ``choria req`` does), run the engine's task with ``tries``/``try_sleep``/``pre_sleep``
as a playbook would, then describe the outcome as the task result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from ..client import ClientConfig
from ..playbook.aggregate import summarize
from ..playbook.errors import PlaybookError
from ..playbook.logger import PlaybookLogger
from ..playbook.runtime import RunOptions, Services
from ..playbook.stores import DataStores, StoreContext
from ..playbook.tasks.base import Task, TaskOutcome
from ..playbook.tasks.mcollective import McollectiveTask
from ..playbook.tasks.mcollective_assert import McollectiveAssertTask
from ..playbook.yamlload import plain
from .discovery import log_lines, node_set_spec, resolve
from .errors import ActionError
from .settings import client_config

READ_ONLY_AGENTS = frozenset({"rpcutil", "discovery", "choria_util"})


class TaskHost:
    """The little of a playbook that one task needs when it runs on its own from Ansible."""

    def __init__(self, options: RunOptions, name: str = "ansible"):
        self.log = PlaybookLogger(lambda: name, options.loglevel or "info", None)
        self.services = Services(options)
        self.data_stores = DataStores(StoreContext(log=self.log, loop=self.services.loop))
        self._name = name

    @property
    def name(self) -> str:
        return self._name


@dataclass
class Attempts:
    """What running the task with its tries gave."""

    outcome: TaskOutcome
    count: int
    runtime: float


def targets(params: dict[str, Any], config: ClientConfig) -> list[str]:
    """``nodes`` as given (directed, no discovery), else the nodes of ``node_set`` or the filters."""
    if params.get("nodes") is not None:
        return [str(n) for n in params["nodes"]]
    spec = dict(params.get("node_set") or node_set_spec(params))
    if not params.get("node_set"):
        spec["agents"] = list(dict.fromkeys([params["agent"], *(spec.get("agents") or [])]))
    return [str(n) for n in resolve({"targets": spec}, {}, config, params, log_lines([]))["targets"].nodes]


def task_properties(params: dict[str, Any], nodes: list[str]) -> dict[str, Any]:
    """The ``mcollective`` task properties the action's options stand for."""
    return {
        "action": f"{params['agent']}.{params['action']}",
        "nodes": nodes,
        "properties": params.get("arguments") or {},
        "batch_size": params.get("batch_size"),
        "batch_sleep_time": params.get("batch_sleep_time"),
        "silent": params.get("silent", False),
        "post": ["summarize"] if params.get("summarize") else [],
        "assert": params.get("assert"),
        "expression": params.get("expression"),
    }


def run_tries(
    task: Task, properties: dict[str, Any], params: dict[str, Any], log: PlaybookLogger, sleep: Callable[[float], None]
) -> Attempts:
    """``pre_sleep``, then up to ``tries`` requests ``try_sleep`` apart until one succeeds (§3.3)."""
    tries = int(params.get("tries") or 1)
    try_sleep = float(params.get("try_sleep") if params.get("try_sleep") is not None else 10)
    started = time.monotonic()
    if params.get("pre_sleep"):
        sleep(float(params["pre_sleep"]))
    outcome: TaskOutcome = (False, "not run", [])
    attempt = 0
    for attempt in range(1, tries + 1):
        task.from_hash(properties)
        try:
            task.validate_configuration()
        except PlaybookError as exc:
            raise ActionError(str(exc)) from None
        outcome = task.run()
        if outcome[0]:
            break
        if attempt < tries:
            log.warn(f"Task failed on try {attempt}/{tries}, sleeping {try_sleep:g}s: {outcome[1]}")
            sleep(try_sleep)
    return Attempts(outcome, attempt, round(time.monotonic() - started, 2))


def describe_outcome(task: Task, attempts: Attempts, params: dict[str, Any], log: PlaybookLogger) -> dict[str, Any]:
    """The task result: Choria's message and data, per-node results, counts, the aggregate."""
    success, msg, replies = attempts.outcome
    agent = params["agent"]
    result: dict[str, Any] = {
        "changed": bool(success) and agent not in READ_ONLY_AGENTS,
        "success": bool(success),
        "msg": msg,
        "description": task.description,
        "data": replies,
        "replies": replies,
        "results": task.to_execution_result(attempts.outcome) if isinstance(task, McollectiveTask) else {},
        "requestid": replies[0]["requestid"]
        if replies and isinstance(replies[0], dict) and "requestid" in replies[0]
        else None,
        "attempts": attempts.count,
        "runtime": attempts.runtime,
        "log": [f"{e.level}: {e.msg}" for e in log.entries],
    }
    last = task.last_result if isinstance(task, McollectiveTask) else None
    if last is not None:
        stats = last.stats
        result["summary"] = {
            "discovered": stats.discovered,
            "responded": stats.responded,
            "ok": stats.ok,
            "failed": stats.failed,
            "noresponses": stats.noresponses,
            "request_duration": round(stats.request_duration, 3),
        }
    if params.get("summarize") and isinstance(task, McollectiveTask):
        result["aggregate"] = summarize(agent, params["action"], [r for r in replies if isinstance(r, dict)])
    if not success:
        result["failed"] = True
    return result


def rpc(
    params: dict[str, Any], check_mode: bool = False, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """One Choria RPC with tries/try_sleep/assert; check mode discovers only."""
    params = plain(params)
    config = client_config(params)
    agent, action = params["agent"], params["action"]
    nodes = targets(params, config)
    result: dict[str, Any] = {"changed": False, "agent": agent, "action": action, "nodes": nodes}
    if check_mode:
        result.update(msg=f"Would call {agent}#{action} on {len(nodes)} node(s)", skipped_rpc=True)
        return result
    options = RunOptions(
        client=config, rpc_timeout=float(params.get("timeout") or 10), collective=params.get("collective"), sleep=sleep
    )
    host = TaskHost(options)
    task: Task = McollectiveAssertTask(host) if params.get("expression") else McollectiveTask(host)
    task.description = params.get("description") or f"{agent}#{action}"
    try:
        attempts = run_tries(task, task_properties(params, nodes), params, host.log, sleep)
    finally:
        host.services.close()
    result.update(describe_outcome(task, attempts, params, host.log))
    return result
