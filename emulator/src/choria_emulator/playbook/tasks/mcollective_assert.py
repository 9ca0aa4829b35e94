"""``mcollective_assert`` (deprecated, Dec 2016 - Oct 2017): a silent RPC whose every reply's
``data[left]`` must satisfy ``op right``. Kept so old playbooks load and run (§2.8)."""

from __future__ import annotations

import re
from typing import Any

from ..errors import describe
from ..rubyfmt import to_s
from .base import Task, TaskOutcome
from .mcollective import McollectiveTask


class McollectiveAssertTask(Task):
    type_name = "mcollective_assert"

    def from_hash(self, data: dict[str, Any]) -> McollectiveAssertTask:
        self.nodes = data.get("nodes", [])
        self.action = data.get("action")
        self.properties = data.get("properties", {})
        self.expression = data.get("expression") or []
        return self

    def validate_configuration(self) -> None:
        if not isinstance(self.expression, list) or len(self.expression) != 3:
            raise self.fail("An expression should be 3 items exactly")

    def evaluate(self, left: Any, operator: str, right: Any) -> bool:
        invert = False
        negated = re.match(r"^!\s*(.+)", str(operator))
        if negated:
            invert, operator = True, negated.group(1)
        if operator == "<":
            result = left < right
        elif operator == ">":
            result = left > right
        elif operator == ">=":
            result = left >= right
        elif operator == "<=":
            result = left <= right
        elif operator in ("==", "="):
            result = left == right
        elif operator == "=~":
            result = re.search(str(right), str(left), re.IGNORECASE) is not None
        elif operator == "in":
            result = left in right
        else:
            raise ValueError(f"Unknown operator {operator} encountered, cannot assert state")
        return not result if invert else bool(result)

    def run(self) -> TaskOutcome:
        rpc = McollectiveTask(self.playbook)
        rpc.description = self.description
        rpc.from_hash({"nodes": self.nodes, "action": self.action, "properties": self.properties, "silent": True})
        try:
            rpc.validate_configuration()
            success, msg, results = rpc.run()
            if not success:
                return False, f"Request {self.action} failed: {msg}", []
            return self.check_results(results)
        except Exception as exc:  # as upstream: any error fails the task with its class
            return False, f"Could not create request for {self.action}: {describe(exc)}", []

    def check_results(self, results: list[dict[str, Any]]) -> TaskOutcome:
        left, operator, right = self.expression
        key = str(left).lstrip(":")
        failed = False
        for result in results:
            data = result.get("data") or {}
            if key not in data:
                self.log.warn(f"Result from {result['sender']} does not have the {key} item")
                failed = True
                continue
            try:
                ok = self.evaluate(data[key], operator, right)
            except TypeError:
                ok = False
            if not ok:
                self.log.warn(f"Result from {result['sender']} does not match the expression")
                failed = True
        shown = f"{key} {operator} {to_s(right)}"
        if failed:
            return False, f"Not all nodes matched expression {shown}", results
        return True, f"All nodes matched expression {shown}", results
