"""The task interface: ``from_hash`` (templated properties, every try), ``validate_configuration``
(raises :class:`TaskConfigError`, which aborts the playbook), ``run`` -> ``(success, msg, data)``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..errors import TaskConfigError

if TYPE_CHECKING:
    from ..logger import PlaybookLogger
    from ..runtime import Services
    from ..stores import DataStores

TaskOutcome = tuple[bool, str, list[Any]]


class Host(Protocol):
    """What a task may use from the playbook that runs it."""

    log: PlaybookLogger
    services: Services
    data_stores: DataStores

    @property
    def name(self) -> str:
        """The playbook's name."""


class Task:
    type_name = "base"

    def __init__(self, playbook: Host):
        self.playbook = playbook
        self.description = ""
        self.fail_ok = False

    @property
    def log(self) -> PlaybookLogger:
        return self.playbook.log

    def from_hash(self, data: dict[str, Any]) -> Task:
        raise NotImplementedError

    def validate_configuration(self) -> None:
        return None

    def run(self) -> TaskOutcome:
        raise NotImplementedError

    def to_execution_result(self, outcome: TaskOutcome) -> dict[str, Any]:
        """The Plan-era per-host shape (§2.9); tasks that act on one host use ``localhost``."""
        success, msg, data = outcome
        result: dict[str, Any] = {
            "value": data[0] if len(data) == 1 else data,
            "type": self.type_name,
            "fail_ok": bool(self.fail_ok),
        }
        if not success:
            result["error"] = {"msg": msg, "kind": "choria.playbook/taskerror", "details": {}}
        return {"localhost": result}

    @staticmethod
    def fail(message: str) -> TaskConfigError:
        return TaskConfigError(message)
