"""Top-level ``uses``: the local DDL check before discovery (§1.3, §3.2 step 5).

Every agent's DDL version (``X.Y`` padded to ``X.Y.0``) must be inside its SemanticPuppet range.
DDLs are looked up as ``<dir>/<agent>.json`` (go-choria's JSON DDL) in ``$CHORIA_DDL_PATH``
(``:``-separated) and the directories the run names, then among the DDLs the emulator ships.
The network check runs later, with the node sets (``choria_emulator.nodesets.check_uses``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import ddl
from ..semver import SemVerError
from ..semver.puppet import VersionRange, agent_version
from .errors import PlaybookError, describe

if TYPE_CHECKING:
    from .logger import PlaybookLogger


class DDLNotFound(PlaybookError):
    ruby_class = "MCollective::DDLValidationError"


def find_ddl(agent: str, search: list[str] | None = None) -> dict[str, Any]:
    """The JSON DDL of ``agent``: ``$CHORIA_DDL_PATH``, then ``search``, then the DDLs the emulator ships."""
    dirs = [d for d in os.environ.get("CHORIA_DDL_PATH", "").split(":") if d] + list(search or [])
    for directory in dirs:
        path = Path(directory).expanduser() / f"{agent}.json"
        if path.is_file():
            try:
                document = json.loads(path.read_text())
                if "version" not in document["metadata"]:
                    raise KeyError("metadata.version")  # a DDL without a version is not one
                return dict(document)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise DDLNotFound(f"Cannot read the DDL {path}: {exc}") from None
    try:
        return ddl.load(agent)
    except (FileNotFoundError, KeyError, ValueError):
        raise DDLNotFound(f"Can't find DDL for agent plugin '{agent}'") from None


def ddl_version(agent: str, search: list[str] | None = None) -> str:
    return str(find_ddl(agent, search)["metadata"]["version"])


def validate_request(agent: str, action: str, arguments: dict[str, Any], search: list[str] | None = None) -> None:
    """MCollective's ``validate_rpc_request`` before a request is sent: the action is in the agent's DDL and
    every input it requires is given (an agent without a DDL here is not checked)."""
    try:
        document = find_ddl(agent, search)
    except DDLNotFound:
        return
    actions = {str(a.get("action")): a for a in document.get("actions") or []}
    if action not in actions:
        raise DDLNotFound(f"Attempted to call action {action} for {agent} but it's not declared in the DDL")
    for name, spec in (actions[action].get("input") or {}).items():
        if not (spec or {}).get("optional", False) and name not in arguments:
            raise DDLNotFound(f"Action {action} needs a {name} argument")


class Uses:
    def __init__(self, log: PlaybookLogger | None = None, search: list[str] | None = None):
        self.log = log
        self.search = list(search or [])
        self.uses: dict[str, str] = {}

    def from_hash(self, data: dict[str, Any]) -> Uses:
        for agent, version in (data or {}).items():
            self._log("debug", f"Loading usage of {agent} version {version}")
            self.uses[str(agent)] = str(version)
        return self

    def prepare(self) -> None:
        invalid = []
        for agent, want in self.uses.items():
            try:
                have = ddl_version(agent, self.search)
                if VersionRange.parse(want).include(agent_version(have)):
                    self._log("debug", f"Agent {agent} DDL version {have} matches desired {want}")
                    continue
                self._log("warn", f"Agent {agent} DDL version {have} does not match desired {want}")
            except (PlaybookError, SemVerError) as exc:
                self._log("warn", f"Could not process DDL for agent {agent}: {describe(exc)}")
            invalid.append(agent)
        if invalid:
            raise PlaybookError(f"DDLs for agent(s) {', '.join(invalid)} did not match desired versions")

    def _log(self, level: str, msg: str) -> None:
        if self.log is not None:
            self.log.log(level, msg)
