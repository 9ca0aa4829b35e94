"""``chorialab.choria.playbook_data``: data store writes, deletes and locks, and reads as a data-bound input does."""

from __future__ import annotations

import uuid
from typing import Any

from ..playbook.errors import PlaybookError, describe
from ..playbook.inputs import Inputs
from ..playbook.runtime import RunOptions, Services
from ..playbook.stores import DataStores, StoreContext
from ..playbook.yamlload import plain
from .errors import ActionError
from .settings import client_config


def open_stores(params: dict[str, Any]) -> tuple[DataStores, Services]:
    """The ``stores`` of a playbook, for one call; close both when done."""
    services = Services(RunOptions(quiet=True))
    context = StoreContext(
        playbook=str(params.get("playbook") or "playbook"),
        loop=services.loop,
        owner=str(params.get("owner") or uuid.uuid4()),
    )
    declared = plain(params.get("stores") or {})
    if params.get("servers"):
        context.nats_servers = list(params["servers"])
    elif any((spec or {}).get("type") == "nats_kv" and not (spec or {}).get("servers") for spec in declared.values()):
        # a nats_kv store without servers uses the run's broker, as natively: the Choria settings' servers
        context.nats_servers = list(client_config(params).servers)
    stores = DataStores(context).from_hash(declared)
    return stores, services


def _operate(stores: DataStores, op: str, path: str | None, params: dict[str, Any]) -> dict[str, Any]:
    if op == "prepare":
        return {"changed": False, "msg": f"Prepared data stores {', '.join(stores.keys())}"}
    if not path:
        raise ActionError(f"op {op} needs a path")
    if op == "write":
        written = stores.write(path, plain(params.get("value")))
        return {"changed": True, "msg": f"Wrote value to {path}", "value": written}
    if op == "delete":
        deleted = stores.delete(path)
        return {"changed": True, "msg": f"Deleted data item {path}", "value": deleted}
    if op == "read":
        return {"changed": False, "value": stores.read(path)}
    if op == "lock":
        stores.lock(path)
        return {"changed": True, "msg": f"Obtained lock {path}"}
    if op == "release":
        stores.release(path)
        return {"changed": True, "msg": f"Released lock {path}"}
    raise ActionError(f"unknown op {op}")


def data(params: dict[str, Any]) -> dict[str, Any]:
    """``op``: ``write``/``delete`` a ``path``, ``lock``/``release`` it (owned by ``owner``), ``prepare`` the stores."""
    params = plain(params)
    op, path = params["op"], params.get("path")
    stores, services = open_stores(params)
    try:
        stores.prepare()
        return _operate(stores, op, path, params)
    except PlaybookError as exc:
        verb = {"write": "perform write on data", "delete": "perform delete on data"}.get(op)
        raise ActionError(f"Could not {verb} {path}: {describe(exc)}" if verb else str(exc)) from None
    finally:
        stores.close()
        services.close()


def read_input(path: str, params: dict[str, Any]) -> Any:
    """A data-bound input's value as the engine resolves it: the store value if it validates,
    else the ``default`` (when there is one), else ``Could not resolve ...``."""
    path, params = plain(path), plain(params)
    stores, services = open_stores(params)
    name = str(params.get("input") or path)
    props: dict[str, Any] = {"data": path, "required": False}
    for key in ("validation", "default"):
        if key in params and params[key] is not None:
            props[key] = params[key]
    try:
        stores.prepare()
        inputs = Inputs(stores).from_hash({name: props})
        return inputs.lookup_from_datastore(name)
    finally:
        stores.close()
        services.close()
