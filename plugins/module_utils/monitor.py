# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Read the JSON monitoring endpoints (nats-server ``/varz``, the emulator's ``/debug/vars``)."""

from __future__ import annotations

import json
import time
from http.client import HTTPException
from typing import Any, Callable
from urllib.error import URLError

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url


class MonitorError(Exception):
    """The endpoint did not answer with JSON; the message says why."""


def fetch_json(url: str, timeout: float = 3.0) -> Any:
    try:
        response = open_url(url, timeout=timeout, validate_certs=False, use_proxy=False)
        return json.loads(response.read())
    except ValueError as exc:
        raise MonitorError("%s did not return JSON: %s" % (url, exc)) from exc
    except (URLError, UrlsConnectionError, HTTPException, OSError) as exc:
        raise MonitorError("%s: %s" % (url, getattr(exc, "reason", None) or exc)) from exc


def poll(
    fetch: Callable[[], Any],
    done: Callable[[Any], bool],
    timeout: float,
    interval: float = 0.25,
    abort: Callable[[], str | None] | None = None,
) -> tuple[bool, Any, str | None]:
    """Call ``fetch`` until ``done(result)``, ``abort()`` names a reason to give up, or time runs out.

    Returns ``(done, last result or None, reason)``; fetch errors count as "not yet".
    """
    deadline = time.time() + timeout
    last = None
    while True:
        reason = abort() if abort else None
        if reason:
            return False, last, reason
        try:
            last = fetch()
            if done(last):
                return True, last, None
        except MonitorError as exc:
            reason = str(exc)
        if time.time() >= deadline:
            return False, last, reason or "timed out"
        time.sleep(interval)
