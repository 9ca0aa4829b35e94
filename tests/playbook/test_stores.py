"""Data stores and locks (playbooks.md §1.5-1.6, §7 items 11-14), etcd and NATS KV against real servers."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
import yaml
from pbhelpers import FIXTURES, complete, sample

from choria_emulator.playbook.bridge import LoopThread
from choria_emulator.playbook.errors import DataStoreError, LockTimeout
from choria_emulator.playbook.stores import DataStores, StoreContext, lock_path, parse_path


def stores(config: dict, **context) -> DataStores:
    result = DataStores(StoreContext(**context)).from_hash(config)
    result.prepare()
    return result


# -- paths and locks ------------------------------------------------------------------------
def test_parse_path_splits_at_the_first_slash():
    assert parse_path("s/y/z") == ("s", "y/z")


def test_parse_path_rejects_a_bare_name():
    with pytest.raises(DataStoreError, match="^Invalid data store path x$"):
        parse_path("x")


def test_valid_path_needs_a_known_store():
    ds = stores({"known": {"type": "memory"}})
    assert ds.valid_path("known/key")
    assert not ds.valid_path("unknown/key")
    assert not ds.valid_path("nopath")
    with pytest.raises(DataStoreError, match="^Unknown data store unknown$"):
        ds.write("unknown/key", 1)


def test_lock_path_uses_full_paths_as_given_and_builds_the_playbook_lock():
    assert lock_path("rspec/key", "test_playbook") == "rspec/key"
    assert lock_path("rspec", "test_playbook") == "rspec/choria/locks/playbook/test_playbook"


def test_lock_timeout_per_store_with_120_default():
    ds = DataStores().from_hash({"a": {"type": "memory", "timeout": 20}, "b": {"type": "memory"}})
    assert ds.lock_timeout("a") == 20
    assert ds.lock_timeout("b") == 120


def test_read_errors_are_wrapped_with_the_path():
    ds = stores({"mem": {"type": "memory"}})
    with pytest.raises(DataStoreError, match="^Could not read key mem/x: RuntimeError: No such key x$"):
        ds.read("mem/x")


# -- environment ------------------------------------------------------------------------------
def test_environment_store_uses_the_prefix_and_is_visible_to_shell_tasks(monkeypatch, make_book, tmp_path):
    monkeypatch.delenv("PB_cluster", raising=False)
    data = complete(yaml.safe_load(sample("website__docs_playbooks_data__store_environment.yaml").read_text()))
    out = tmp_path / "out"
    data["tasks"] = [
        {"data": {"action": "write", "key": "pb_env/cluster", "value": "bravo"}},
        {"shell": {"command": f"echo $PB_cluster > {out}"}},
    ]
    report = make_book(data).run({})
    assert report["report"]["success"], report["report"]
    assert out.read_text().strip() == "bravo"
    os.environ.pop("PB_cluster", None)


def test_environment_store_read_delete_and_missing(monkeypatch):
    monkeypatch.delenv("PB_gone", raising=False)
    ds = stores({"env": {"type": "environment", "prefix": "PB_"}})
    with pytest.raises(DataStoreError, match="No such environment variable PB_gone"):
        ds.read("env/gone")
    ds.write("env/gone", "x")
    assert os.environ["PB_gone"] == "x"
    ds.delete("env/gone")
    assert "PB_gone" not in os.environ


def test_environment_store_cannot_lock():
    ds = stores({"env": {"type": "environment"}})
    with pytest.raises(DataStoreError, match="^lock not implemented in EnvironmentDataStore$"):
        ds.lock("env/x")


# -- file -------------------------------------------------------------------------------------
def test_file_store_reads_the_spec_fixture(tmp_path):
    data_file = tmp_path / "file_data.yaml"
    data_file.write_text(sample("mcollective-choria__spec_fixtures_playbooks__file_data.yaml").read_text())
    ds = stores({"f": {"type": "file", "file": str(data_file), "format": "yaml"}})
    assert ds.read("f/hello") == "world"
    with pytest.raises(DataStoreError, match="No such key nope"):
        ds.read("f/nope")


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_file_store_writes_keep_types_and_the_rest_of_the_file(tmp_path, fmt):
    path = tmp_path / f"data.{fmt}"
    path.write_text(json.dumps({"keep": 1}) if fmt == "json" else "keep: 1\n")
    ds = stores({"f": {"type": "file", "file": str(path), "format": fmt}})
    ds.write("f/list", ["a", 1])
    ds.write("f/deep", {"x": True})
    loaded = json.loads(path.read_text()) if fmt == "json" else yaml.safe_load(path.read_text())
    assert loaded == {"keep": 1, "list": ["a", 1], "deep": {"x": True}}
    ds.delete("f/list")
    assert ds.read("f/deep") == {"x": True}
    with pytest.raises(DataStoreError):
        ds.read("f/list")


def test_file_store_create_touches_a_missing_file_and_empty_reads_as_empty(tmp_path):
    path = tmp_path / "new.yaml"
    stores({"f": {"type": "file", "file": str(path), "format": "yaml", "create": True}})
    assert path.exists() and path.read_text() == ""


@pytest.mark.parametrize(
    "props, message",
    [
        ({}, "No file given to use as data source"),
        ({"file": "x"}, "No file format given"),
        ({"file": "x", "format": "toml"}, "File format has to be one of 'json' or 'yaml'"),
        ({"file": "/nonexistent/file.yaml", "format": "yaml"}, "Cannot find data file /nonexistent/file.yaml"),
    ],
)
def test_file_store_configuration_errors(props, message):
    with pytest.raises(DataStoreError, match=f"^{message}$"):
        stores({"f": {"type": "file", **props}})


def test_file_store_must_hold_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(DataStoreError, match="^The data file must contain a Hash or be empty$"):
        stores({"f": {"type": "file", "file": str(path), "format": "yaml"}})


def test_file_store_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "data.json"
    path.write_text("{}")
    writers = [stores({"f": {"type": "file", "file": str(path), "format": "json"}}) for _ in range(4)]
    threads = [
        threading.Thread(target=lambda ds=ds, i=i: [ds.write(f"f/k{i}_{n}", n) for n in range(25)])
        for i, ds in enumerate(writers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(json.loads(path.read_text())) == 100


# -- shell ------------------------------------------------------------------------------------
@pytest.fixture
def shell_store(tmp_path, monkeypatch):
    monkeypatch.setenv("STORE_DIR", str(tmp_path))
    return stores(
        {
            "sh": {
                "type": "shell",
                "command": str(FIXTURES / "shell_store.sh"),
                "environment": {"EXAMPLE": "VALUE"},
                "cwd": str(tmp_path),
            }
        }
    ), tmp_path


def test_shell_store_protocol_passes_only_the_action_and_the_key_in_the_environment(shell_store):
    ds, directory = shell_store
    ds.write("sh/cluster", "alpha")
    assert ds.read("sh/cluster") == "alpha"  # trailing newline chomped
    ds.delete("sh/cluster")
    calls = (directory / "calls.log").read_text().splitlines()
    assert calls == [
        f"--write key=cluster action=write lc_all=C example=VALUE pwd={directory}",
        f"--read key=cluster action=read lc_all=C example=VALUE pwd={directory}",
        f"--delete key=cluster action=delete lc_all=C example=VALUE pwd={directory}",
    ]


def test_shell_store_exit_code_and_key_regex(shell_store):
    ds, _ = shell_store
    with pytest.raises(DataStoreError, match="Could not read key missing, got exitcode 1"):
        ds.read("sh/missing")
    with pytest.raises(DataStoreError, match=r"^Valid keys must match \^\[a-zA-Z0-9_-\]\+\$$"):
        ds.write("sh/a/b", "x")


def test_shell_store_configuration_check_is_available_but_not_run_at_prepare(tmp_path):
    ds = stores({"sh": {"type": "shell", "command": str(tmp_path / "missing.sh")}})  # 0.6.0: no check here
    with pytest.raises(DataStoreError, match="is not executable"):
        ds["sh"].validate_configuration()  # type: ignore[attr-defined]


# -- memory -----------------------------------------------------------------------------------
def test_memory_store_copies_values_and_locks_work():
    ds = stores({"mem": {"type": "memory", "timeout": 1}})
    value = {"a": [1]}
    ds.write("mem/k", value)
    value["a"].append(2)
    assert ds.read("mem/k") == {"a": [1]}
    ds.lock("mem/lock")
    with pytest.raises(LockTimeout, match="^Failed to obtain lock lock after 1 seconds$"):
        ds.lock("mem/lock")
    ds.release("mem/lock")
    ds.lock("mem/lock")


# -- etcd (real etcd) -------------------------------------------------------------------------
def test_etcd_store_write_read_delete_against_real_etcd(etcd):
    ds = stores({"pb_etcd": {"type": "etcd", "url": etcd.url}})
    ds.write("pb_etcd/app/cluster", "alpha")
    assert etcd.get("app/cluster") == "alpha"
    assert ds.read("pb_etcd/app/cluster") == "alpha"
    ds.write("pb_etcd/app/count", 3)
    assert ds.read("pb_etcd/app/count") == "3"  # etcd values are strings
    ds.delete("pb_etcd/app/cluster")
    assert etcd.get("app/cluster") is None
    with pytest.raises(
        DataStoreError, match="^Could not read key pb_etcd/app/cluster: RuntimeError: Could not find key app/cluster$"
    ):
        ds.read("pb_etcd/app/cluster")


def test_etcd_store_unreachable_is_one_clear_error():
    from pbhelpers import free_port

    ds = stores({"e": {"type": "etcd", "url": f"http://127.0.0.1:{free_port()}"}})
    with pytest.raises(DataStoreError, match="Could not connect to etcd at http://127.0.0.1:"):
        ds.write("e/k", "v")


def test_etcd_store_has_no_locks(etcd):
    ds = stores({"e": {"type": "etcd", "url": etcd.url}})
    with pytest.raises(DataStoreError, match="^lock not implemented in EtcdDataStore$"):
        ds.lock("e/x")


# -- NATS JetStream KV (real nats-server -js) -------------------------------------------------
@pytest.fixture
def loop():
    thread = LoopThread()
    yield thread
    thread.close()


def kv_stores(nats, loop, bucket, owner=None, **props):
    context = StoreContext(playbook="test_playbook", loop=lambda: loop)
    if owner:
        context.owner = owner
    return stores({"kv": {"type": "nats_kv", "servers": nats.url, "bucket": bucket, **props}}, **vars(context))


def test_nats_kv_store_write_read_delete(nats, loop):
    ds = kv_stores(nats, loop, "PB_DATA")
    ds.write("kv/cluster", "alpha")
    assert ds.read("kv/cluster") == "alpha"
    ds.write("kv/app/replicas", 3)
    assert ds.read("kv/app/replicas") == "3"
    ds.delete("kv/cluster")
    with pytest.raises(DataStoreError, match="^Could not read key kv/cluster: RuntimeError: No such key cluster$"):
        ds.read("kv/cluster")
    ds.close()


def test_nats_kv_lock_blocks_a_second_owner_until_released(nats, loop):
    first = kv_stores(nats, loop, "PB_LOCKS", owner="first", timeout=1)
    second = kv_stores(nats, loop, "PB_LOCKS", owner="second", timeout=1)
    path = lock_path("kv", "test_playbook")
    first.lock(path)
    assert first["kv"].holder("choria/locks/playbook/test_playbook")["owner"] == "first"  # type: ignore[attr-defined]
    with pytest.raises(
        LockTimeout, match="^Failed to obtain lock choria/locks/playbook/test_playbook after 1 seconds$"
    ):
        second.lock(path)
    with pytest.raises(DataStoreError, match="not by this run"):
        second.release(path)
    first.release(path)
    second.lock(path)
    second.release(path)
    first.close()
    second.close()


def test_nats_kv_waiter_gets_the_lock_when_it_is_released(nats, loop):
    first = kv_stores(nats, loop, "PB_WAIT", owner="first", timeout=10)
    second = kv_stores(nats, loop, "PB_WAIT", owner="second", timeout=10)
    first.lock("kv/deploy")
    got = []
    waiter = threading.Thread(target=lambda: (second.lock("kv/deploy"), got.append(time.monotonic())))
    waiter.start()
    time.sleep(0.5)
    assert not got
    first.release("kv/deploy")
    waiter.join(10)
    assert got and second["kv"].holder("deploy")["owner"] == "second"  # type: ignore[attr-defined]


def test_nats_kv_expired_lease_can_be_taken_over_and_is_renewed_while_held(nats, loop):
    leased = kv_stores(nats, loop, "PB_TTL", owner="dead-run", ttl=0.6, timeout=5)
    leased.lock("kv/job")
    time.sleep(1.0)  # renewed every ttl/3 while this run holds it
    contender = kv_stores(nats, loop, "PB_TTL", owner="next-run", ttl=0.6, timeout=0.3)
    with pytest.raises(LockTimeout):
        contender.lock("kv/job")
    leased.close()  # the run dies: no more renewals
    contender = kv_stores(nats, loop, "PB_TTL", owner="next-run", ttl=0.6, timeout=5)
    contender.lock("kv/job")
    assert contender["kv"].holder("job")["owner"] == "next-run"  # type: ignore[attr-defined]


def test_nats_kv_without_jetstream_is_one_clear_error(tmp_path, loop):
    from choria_emulator.testing.localnet import NatsServer

    plain = NatsServer.start(workdir=tmp_path)
    try:
        with pytest.raises(DataStoreError, match="JetStream key-value is not available"):
            kv_stores(plain, loop, "PB_X")
    finally:
        plain.stop()


def test_nats_kv_rejects_keys_nats_cannot_hold(nats, loop):
    ds = kv_stores(nats, loop, "PB_KEYS")
    with pytest.raises(DataStoreError, match="NATS keys may only use"):
        ds.write("kv/has space", "x")


def test_playbook_locks_on_nats_kv_are_taken_in_order_and_released(nats, make_book, tmp_path):
    data = complete(
        {
            "data_stores": {"kv": {"type": "nats_kv", "servers": nats.url, "bucket": "PB_BOOK", "timeout": 2}},
            "locks": ["kv", "kv/specific_lock"],
            "tasks": [{"shell": {"command": "true"}}],
        }
    )
    book = make_book(data)
    report = book.run({})
    assert report["report"]["success"], report["report"]
    messages = [e["msg"] for e in report["logs"]]
    assert messages.index("Obtaining playbook lock kv/choria/locks/playbook/test_playbook") < messages.index(
        "Obtaining playbook lock kv/specific_lock"
    )
    assert "Releasing playbook lock kv/specific_lock" in messages
    again = make_book(data).run({})  # released: a second run gets them at once
    assert again["report"]["success"]
