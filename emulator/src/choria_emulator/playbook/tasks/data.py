"""``data`` (0.0.20 - 0.6.0): write or delete a data store item from a task list (§2.7)."""

from __future__ import annotations

from typing import Any

from ..errors import describe
from .base import Task, TaskOutcome


class DataTask(Task):
    type_name = "data"

    def from_hash(self, data: dict[str, Any]) -> DataTask:
        self.action = data.get("action")
        self.key = data.get("key")
        self.value = data.get("value")
        self.has_value = data.get("value") is not None
        return self

    def validate_configuration(self) -> None:
        if self.action not in ("delete", "write"):
            raise self.fail("Action should be one of delete or write")
        if not self.key:
            raise self.fail("A key to act on is needed")
        if self.action == "write" and not self.has_value:
            raise self.fail("A value is needed when writing")

    def run(self) -> TaskOutcome:
        stores = self.playbook.data_stores
        try:
            # the data is what the store's write or delete returned, as in 0.6.0 (the old value after a
            # memory or environment delete, nothing from a shell store)
            if self.action == "write":
                written = stores.write(self.key, self.value)
                return True, f"Wrote value to {self.key}", [written]
            deleted = stores.delete(self.key)
            return True, f"Deleted data item {self.key}", [deleted]
        except Exception as exc:  # any store error fails the task with its class (§2.7)
            return False, f"Could not perform {self.action} on data {self.key}: {describe(exc)}", []
