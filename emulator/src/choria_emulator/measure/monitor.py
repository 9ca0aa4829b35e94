"""Snapshots of the NATS monitor (``/varz``, ``/connz``, ``/routez``) and emulator ``/debug/vars``.

Taken before and after a suite so a report shows what the broker went through: connections,
subscriptions, messages and bytes in and out, slow consumers and the server's RSS. A monitor
that does not answer is recorded with its error; it never stops a suite.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Callable

TIMEOUT = 5.0
VARZ_KEYS = (
    "server_name",
    "version",
    "connections",
    "total_connections",
    "subscriptions",
    "routes",
    "leafnodes",
    "in_msgs",
    "out_msgs",
    "in_bytes",
    "out_bytes",
    "slow_consumers",
    "mem",
    "cpu",
    "cores",
)
COUNTERS = ("in_msgs", "out_msgs", "in_bytes", "out_bytes", "slow_consumers", "total_connections")


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # operator-given monitor URL
        return json.loads(response.read())


def normalise_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = f"http://{url}"
    return url


def _snapshot(url: str, read: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    base = normalise_url(url)
    snap: dict[str, Any] = {"url": base}
    try:
        snap.update(read(base))
    except (OSError, urllib.error.URLError, ValueError) as exc:
        snap["error"] = str(getattr(exc, "reason", exc))
    return snap


def _nats(base: str) -> dict[str, Any]:
    varz = _get(f"{base}/varz")
    snap = {key: varz.get(key) for key in VARZ_KEYS if key in varz}
    snap["rss"] = varz.get("mem")
    connz = _get(f"{base}/connz?limit=1")
    snap["connz"] = {"total": connz.get("total")}  # connections the server holds (the page itself has limit=1)
    snap["num_routes"] = _get(f"{base}/routez").get("num_routes", 0)
    return snap


def _emulator(base: str) -> dict[str, Any]:
    data = _get(f"{base}/debug/vars")
    return {key: data.get(key) for key in ("name", "instances", "connected", "rss")}


def nats_snapshot(url: str) -> dict[str, Any]:
    """One nats-server: the ``/varz`` figures that matter, connection totals and routes."""
    return _snapshot(url, _nats)


def emulator_snapshot(url: str) -> dict[str, Any]:
    """One ``choria-emulator emulate`` process: instances, connected, RSS."""
    return _snapshot(url, _emulator)


def snapshot(nats_urls: list[str], emulator_urls: list[str]) -> dict[str, Any]:
    return {"nats": [nats_snapshot(u) for u in nats_urls], "emulators": [emulator_snapshot(u) for u in emulator_urls]}


def delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What the suite cost each nats-server: counter differences and RSS growth."""
    out = []
    for b, a in zip(before.get("nats", []), after.get("nats", [])):
        if "error" in a or "error" in b:
            continue
        entry: dict[str, Any] = {"url": a["url"]}
        for key in COUNTERS:
            if isinstance(a.get(key), int) and isinstance(b.get(key), int):
                entry[key] = a[key] - b[key]
        if isinstance(a.get("rss"), int) and isinstance(b.get("rss"), int):
            entry["rss_growth"] = a["rss"] - b["rss"]
        out.append(entry)
    return {"nats": out}
