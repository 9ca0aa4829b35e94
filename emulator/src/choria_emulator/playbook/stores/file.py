"""``file``: a JSON or YAML mapping in one file, rewritten whole on every change.

Writes go to a temporary file that replaces the original, under an ``flock`` on the data file,
so a crash or a concurrent run never leaves half a document behind (upstream rewrote in place).
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from ..errors import DataStoreError
from ..yamlload import load_yaml, plain
from .base import DataStore


class FileStore(DataStore):
    type_name = "File"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.file = ""
        self.format = ""
        self.create = False
        self._mutex = threading.Lock()

    def from_hash(self, properties: dict[str, Any]) -> FileStore:
        super().from_hash(properties)
        self.file = properties.get("file") or ""
        self.format = properties.get("format") or ""
        self.create = bool(properties.get("create"))
        self.validate_configuration()
        return self

    def validate_configuration(self) -> None:
        if not self.file:
            raise DataStoreError("No file given to use as data source")
        if not self.format:
            raise DataStoreError("No file format given")
        if self.format not in ("json", "yaml"):
            raise DataStoreError("File format has to be one of 'json' or 'yaml'")
        self.file = os.path.abspath(os.path.expanduser(str(self.file)))
        if self.create and not os.path.exists(self.file):
            Path(self.file).touch()
        if not os.path.exists(self.file):
            raise DataStoreError(f"Cannot find data file {self.file}")
        if not os.access(self.file, os.R_OK):
            raise DataStoreError(f"Cannot read data file {self.file}")
        if not os.access(self.file, os.W_OK):
            raise DataStoreError(f"Cannot write data file {self.file}")
        if not isinstance(self.data(), dict):
            raise DataStoreError("The data file must contain a Hash or be empty")

    def data(self) -> Any:
        with self._mutex:
            return self._parse()

    def _parse(self) -> Any:
        text = Path(self.file).read_text()
        if not text:
            return {}
        try:
            return json.loads(text) if self.format == "json" else load_yaml(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise DataStoreError(f"Cannot parse data file {self.file}: {str(exc).splitlines()[0]}") from None

    def _dump(self, data: dict[str, Any]) -> str:
        if self.format == "json":
            return json.dumps(plain(data), separators=(",", ":"))
        return yaml.safe_dump(plain(data), explicit_start=True, default_flow_style=False, sort_keys=False)

    @contextmanager
    def _exclusive(self) -> Iterator[dict[str, Any]]:
        """Read-modify-write under a file lock; the new content replaces the file atomically."""
        with self._mutex, self._locked_file():
            data = self._parse()
            if not isinstance(data, dict):
                raise DataStoreError("The data file must contain a Hash or be empty")
            yield data
            directory = os.path.dirname(self.file)
            fd, temp = tempfile.mkstemp(prefix=".choria-", dir=directory)
            try:
                with os.fdopen(fd, "w") as out:
                    out.write(self._dump(data))
                os.chmod(temp, os.stat(self.file).st_mode & 0o7777)
                os.replace(temp, self.file)
            except BaseException:
                os.unlink(temp)
                raise

    @contextmanager
    def _locked_file(self) -> Iterator[None]:
        """``flock`` the data file; since writes replace the file, retry until the locked inode is current."""
        while True:
            handle = open(self.file, "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX)
                if os.fstat(handle.fileno()).st_ino == os.stat(self.file).st_ino:
                    yield
                    return
            finally:
                handle.close()

    def read(self, key: str) -> Any:
        data = self.data()
        if key not in data:
            raise DataStoreError(f"No such key {key}")
        return data[key]

    def write(self, key: str, value: Any) -> Any:
        with self._exclusive() as data:
            data[key] = value
        return self.read(key)

    def delete(self, key: str) -> None:
        with self._exclusive() as data:
            data.pop(key, None)
