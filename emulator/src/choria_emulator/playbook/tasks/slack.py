"""``slack``: ``chat.postMessage`` with the Choria attachment (§2.5).

The API base URL comes from the run (``RunOptions.slack_api``, ``$CHORIA_SLACK_API``, default
https://slack.com/api) so tests and Slack-compatible servers can receive the message.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from ..errors import describe
from ..rubyfmt import to_json
from .base import Task, TaskOutcome

ICON = "https://choria.io/img/slack-48x48.png"


class SlackTask(Task):
    type_name = "slack"

    def from_hash(self, data: dict[str, Any]) -> SlackTask:
        self.channel = data.get("channel")
        self.text = data.get("text")
        self.token = data.get("token")
        self.color = data.get("color", "#ffa449")
        self.username = data.get("username", "Choria")
        return self

    def validate_configuration(self) -> None:
        if not self.channel:
            raise self.fail("A channel is required")
        if not self.text:
            raise self.fail("Message text is required")
        if not self.token:
            raise self.fail("A bot token is required")

    def attachments(self) -> list[dict[str, Any]]:
        return [
            {
                "fallback": self.text,
                "color": self.color,
                "text": self.text,
                "pretext": f"Task: {self.description}",
                "mrkdwn_in": ["text"],
                "footer": "Choria Playbooks",
                "fields": [
                    {"title": "user", "value": self.playbook.services.caller_id, "short": True},
                    {"title": "playbook", "value": self.playbook.name, "short": True},
                ],
            }
        ]

    def request_path(self) -> str:
        q = urllib.parse.quote_plus
        return (
            f"/chat.postMessage?token={q(str(self.token))}&username={q(str(self.username))}&channel={q(str(self.channel))}"
            f"&icon_url={q(ICON)}&attachments={q(to_json(self.attachments()))}"
        )

    def run(self) -> TaskOutcome:
        try:
            response = self.playbook.services.http(
                "GET",
                self.playbook.services.slack_api + self.request_path(),
                {"User-Agent": "Choria Playbooks http://choria.io"},
            )
            data = response.json()
            if not isinstance(data, dict):
                raise ValueError(f"unexpected reply {response.body[:200]}")
        except (OSError, ValueError) as exc:
            msg = f"Could not publish slack message to channel {self.channel}: {describe(exc)}"
            self.log.debug(msg)
            return False, msg, []
        if response.status == 200 and data.get("ok"):
            self.log.debug(f"Successfully sent message to slack channel {self.channel}")
            return True, f"Message submitted to slack channel {self.channel}", [data]
        self.log.warn(f"Failed to send message to slack channel {self.channel}: {data.get('error')}")
        return False, f"Failed to send message to slack channel {self.channel}: {data.get('error')}", [data]

    def to_execution_result(self, outcome: TaskOutcome) -> dict[str, Any]:
        result = super().to_execution_result(outcome)["localhost"]
        if "error" in result:
            result["error"]["details"] = {"channel": self.channel}
        return {"slack.com": result}


__all__ = ["SlackTask", "json"]
