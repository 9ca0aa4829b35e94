"""``chorialab.choria.choria_playbook``: run a Choria YAML playbook natively; the result carries the report."""

from __future__ import annotations

from typing import Any

from ..playbook import Playbook, RunOptions
from ..playbook.errors import PlaybookError, PlaybookInvalid
from ..playbook.lint import lint
from ..playbook.report import summary, to_jsonable
from ..playbook.yamlload import plain
from .errors import ActionError
from .settings import client_config


def run_options(params: dict[str, Any]) -> RunOptions:
    return RunOptions(
        client=client_config(params),
        quiet=True,
        loglevel=params.get("loglevel"),
        slack_api=params.get("slack_api"),
        rpc_timeout=float(params.get("timeout") or 10),
        discovery_timeout=params.get("discovery_timeout"),
        extra={"ddl_path": params.get("ddl_path") or []},
    )


def validate_only(book: Playbook) -> dict[str, Any]:
    """Check mode: what ``playbook validate`` says, nothing run."""
    errors, warnings = lint(book)
    if errors:
        raise ActionError("Playbook is not in a valid format: " + "; ".join(errors))
    return {
        "changed": False,
        "msg": f"Playbook {book.name} is valid (check mode does not run it)",
        "warnings_found": warnings,
        "playbook": book.describe(),
    }


def run_playbook(params: dict[str, Any], check_mode: bool = False) -> dict[str, Any]:
    """Run a Choria YAML playbook natively; the task result carries the report (§3.4)."""
    params = plain(params)
    try:
        book = Playbook.load(params["playbook"], run_options(params))
    except PlaybookError as exc:
        raise ActionError(str(exc)) from None
    if check_mode:
        return validate_only(book)
    try:
        report = to_jsonable(book.run(plain(params.get("inputs") or {})))
    except PlaybookInvalid as exc:
        raise ActionError("Playbook is not in a valid format: " + "; ".join(exc.problems)) from None
    success = bool(report["report"]["success"])
    result: dict[str, Any] = {
        "changed": bool(report["tasks"]),
        "success": success,
        "report": report,
        "msg": report["report"]["playbook_error"] or summary(report).splitlines()[2],
    }
    if not success:
        result["failed"] = True
    return result
