"""``environment``: process environment variables, so writes are visible to later shell tasks."""

from __future__ import annotations

import os
from typing import Any

from ..errors import DataStoreError
from .base import DataStore, as_text


class EnvironmentStore(DataStore):
    type_name = "Environment"

    @property
    def prefix(self) -> str:
        return str(self.properties.get("prefix") or "")

    def read(self, key: str) -> Any:
        name = f"{self.prefix}{key}"
        if name not in os.environ:
            raise DataStoreError(f"No such environment variable {name}")
        return os.environ[name]

    def write(self, key: str, value: Any) -> Any:
        os.environ[f"{self.prefix}{key}"] = as_text(value)
        return self.read(key)

    def delete(self, key: str) -> Any:
        return os.environ.pop(f"{self.prefix}{key}", None)
