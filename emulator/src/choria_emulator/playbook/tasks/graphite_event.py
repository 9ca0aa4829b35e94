"""``graphite_event``: POST ``{what, tags, when, data}`` to Graphite's events URL (§2.6).

As 0.6.0, the inner webhook is built once, so retries resend the same ``when`` and request id.
"""

from __future__ import annotations

import time
from typing import Any

from .base import Task, TaskOutcome
from .webhook import WebhookTask


class Graphite_eventTask(Task):  # named like the upstream class the type maps to
    type_name = "graphite_event"

    def from_hash(self, data: dict[str, Any]) -> Graphite_eventTask:
        self.what = data.get("what")
        self.data = data.get("data")
        self.graphite = data.get("graphite")
        self.tags = data.get("tags", ["choria"])
        self.headers = data.get("headers", {})
        if not hasattr(self, "_webhook"):
            self._webhook: WebhookTask | None = None
        return self

    def validate_configuration(self) -> None:
        if not self.what:
            raise self.fail("The 'what' property is required")
        if not self.data:
            raise self.fail("The 'data' property is required")
        if not self.graphite:
            raise self.fail("The 'graphite' property is required")
        if not isinstance(self.tags, list):
            raise self.fail("'tags' should be an array")
        if not isinstance(self.headers, dict):
            raise self.fail("'headers' should be a hash")
        if not str(self.graphite).startswith(("http://", "https://")):
            raise self.fail("The graphite url should be either http or https")

    def payload(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "tags": ",".join(str(t) for t in self.tags),
            "when": int(time.time()),
            "data": self.data,
        }

    def webhook(self) -> WebhookTask:
        if self._webhook is None:
            hook = WebhookTask(self.playbook)
            hook.description = self.description
            hook.from_hash({"uri": self.graphite, "method": "POST", "headers": self.headers, "data": self.payload()})
            hook.validate_configuration()
            self._webhook = hook
        return self._webhook

    def run(self) -> TaskOutcome:
        return self.webhook().run()

    def to_execution_result(self, outcome: TaskOutcome) -> dict[str, Any]:
        return self.webhook().to_execution_result(outcome)
