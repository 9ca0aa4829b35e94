"""``previous_task`` in a converted play (§4): the registered result of the last task, read as Choria reads it.

Every converted Choria task registers ``choria_previous``; Ansible results differ by module, so
the ``chorialab.choria.previous_task`` filter needs what the converter knows about that task
(``meta``: its type, raw description, ``fail_ok`` and what its message names) to give what
0.6.0's ``previous_task.success|msg|data|description|runtime`` gave after a task of that type.
"""

from __future__ import annotations

from typing import Any

from ..playbook.tasks.shell import output_chunks
from ..playbook.yamlload import plain

NO_TASK = "No previous task were found"
NOT_RUN = "Previous task did not run"
ITEMS = ("success", "msg", "message", "data", "description", "runtime")


def seconds(delta: Any) -> float:
    """``H:MM:SS.ffffff`` (command results) as seconds."""
    try:
        hours, minutes, secs = str(delta).split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(secs)
    except ValueError:
        return 0.0


def _webhook(result: dict[str, Any], meta: dict[str, Any]) -> tuple[bool, str, list[Any]]:
    method, uri, request_id = meta.get("method", "POST"), meta.get("uri"), meta.get("request_id")
    status = result.get("status")
    body = result.get("content", "")
    if not isinstance(status, int) or status < 0:
        return False, f"Could not send {method} to webhook {uri}: {result.get('msg', '')}", []
    if status in (200, 201):
        return True, f"Successfully sent {method} request to webhook {uri} with id {request_id}", [body]
    return False, f"Failed to send {method} request to webhook {uri} with id {request_id}: {status}: {body}", [body]


def _slack(result: dict[str, Any], meta: dict[str, Any]) -> tuple[bool, str, list[Any]]:
    channel, reply = meta.get("channel"), result.get("json")
    if result.get("status") == 200 and isinstance(reply, dict) and reply.get("ok"):
        return True, f"Message submitted to slack channel {channel}", [reply]
    if not isinstance(reply, dict):
        return False, f"Could not publish slack message to channel {channel}: {result.get('msg', '')}", []
    return False, f"Failed to send message to slack channel {channel}: {reply.get('error')}", [reply]


def _shell(result: dict[str, Any], meta: dict[str, Any]) -> tuple[bool, str, list[Any]]:
    output = output_chunks({name: [str(result.get(name) or "")] for name in ("stdout", "stderr")})
    code = result.get("rc")
    if not isinstance(code, int):  # never started, or stopped by its timeout
        return False, f"Could not run command {meta.get('command', '')}: {result.get('msg', '')}", output
    if code == 0:
        return True, "Command completed successfully", output
    return False, f"Command failed with code {code}", output


def _data(result: dict[str, Any], meta: dict[str, Any]) -> tuple[bool, str, list[Any]]:
    if result.get("failed"):
        return False, str(result.get("msg", "")), []
    return True, str(result.get("msg", "")), [result.get("value")]  # what the store returned, as in 0.6.0


def outcome(result: dict[str, Any], meta: dict[str, Any]) -> tuple[bool, str, list[Any], float]:
    """``(success, msg, data, runtime)`` of a task's registered result, as Choria's task gave them."""
    if "choria_outcome" in result:  # set by the play itself (memory/environment data, playbook tasks)
        done = result["choria_outcome"]
        return bool(done.get("success")), str(done.get("msg", "")), list(done.get("data") or []), 0.0
    kind = meta.get("type")
    if kind in ("mcollective", "mcollective_assert"):
        success = bool(result.get("success", not result.get("failed")))
        return success, str(result.get("msg", "")), list(result.get("data") or []), float(result.get("runtime") or 0)
    if kind == "shell":
        success, msg, data = _shell(result, meta)
        return success, msg, data, seconds(result.get("delta"))
    if kind in ("webhook", "graphite_event"):
        success, msg, data = _webhook(result, meta)
        return success, msg, data, float(result.get("elapsed") or 0)
    if kind == "slack":
        success, msg, data = _slack(result, meta)
        return success, msg, data, float(result.get("elapsed") or 0)
    if kind == "data":
        success, msg, data = _data(result, meta)
        return success, msg, data, 0.0
    return not result.get("failed"), str(result.get("msg", "")), [], 0.0


def previous_task(result: Any, item: str, meta: Any = None) -> Any:
    """Choria's ``previous_task.<item>`` after the task ``meta`` describes, whose result is ``result``."""
    if item not in ITEMS:
        raise ValueError(f"Cannot retrieve {item} for the last task outcome")
    meta = plain(meta) or {}
    if not meta:
        return {"success": False, "msg": NO_TASK, "message": NO_TASK, "data": [], "description": NO_TASK, "runtime": 0}[
            item
        ]
    if item == "description":
        return meta.get("description", f"{meta.get('type')} task")
    ran = isinstance(result, dict) and not result.get("skipped")
    if not ran:
        return {"success": False, "msg": NOT_RUN, "message": NOT_RUN, "data": [], "runtime": 0}[item]
    success, msg, data, runtime = outcome(plain(result), meta)
    if item == "success":
        return success or bool(meta.get("fail_ok"))
    if item in ("msg", "message"):
        return msg
    if item == "data":
        return data
    return round(runtime, 2)
