"""Differential tests: each sample playbook that can run here runs natively AND as the Ansible
playbook ``convert`` writes (real ansible-playbook), against the same emulated network, local
HTTP server and real stores. Both must act on the same nodes with the same RPC calls in the same
order (the emulator's audit log), send the same HTTP requests, write the same store values and
end with the same outcome.

Samples are adapted only where they name things that do not exist here (agents, paths, URLs):
each adaptation is spelled out next to its case.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from pbansible import ansible_playbook, convert_to, rpc_calls, run_native, write_playbook
from pbhelpers import FIXTURES, complete, load_sample

Adapt = Callable[[dict[str, Any], "Env"], dict[str, Any]]


@dataclass
class Env:
    """What a case can use: the network URL, the HTTP recorder, a scratch directory, real stores."""

    tmp: Path
    http: Any
    nats_url: str
    etcd_url: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Case:
    id: str
    sample: str | None
    adapt: Adapt
    inputs: dict[str, Any] = field(default_factory=dict)
    success: bool = True
    state: Callable[[Env], Any] | None = None  # store/file state compared after both runs
    reset: Callable[[Env], None] | None = None  # before each run


def ping(nodes: str) -> dict[str, Any]:
    return {
        "mcollective": {
            "description": f"ping {nodes}",
            "action": "rpcutil.ping",
            "nodes": "{{{ nodes." + nodes + " }}}",
        }
    }


def with_task(*tasks: dict[str, Any]) -> Adapt:
    def adapt(data: dict[str, Any], env: Env) -> dict[str, Any]:
        return complete(data, tasks=list(tasks))

    return adapt


def file_content(name: str) -> Callable[[Env], Any]:
    return lambda env: (env.tmp / name).read_text() if (env.tmp / name).exists() else None


def clear(*names: str) -> Callable[[Env], None]:
    def reset(env: Env) -> None:
        for name in names:
            (env.tmp / name).unlink(missing_ok=True)

    return reset


# -- the cases ------------------------------------------------------------------------------------
def _array_nodes(data, env):
    return complete(data)


def _fact_filter(data, env):
    return complete(data, tasks=[ping("servers")])


def _with_uses(data, env):
    # PuppetDB discovery (discovery_method: choria) becomes broadcast; rpcutil here is 0.29.x, not ~1.0
    data["nodes"]["servers"]["discovery_method"] = "mc"
    data["uses"]["rpcutil"] = "~ 0.29.0"
    return complete(data, tasks=[ping("servers")])


def _shell_nodes(data, env):
    for spec in data["nodes"].values():
        spec["script"] = str(FIXTURES / "nodes.sh")  # /usr/local/bin/nodes.sh
    return complete(data, tasks=[ping(next(iter(data["nodes"])))])


def _terraform(data, env):
    data["nodes"]["dev"]["statefile"] = str(FIXTURES / "terraform.tfstate")
    return complete(data, tasks=[ping("dev")])


def _yaml_sets(data, env):
    for spec in data["nodes"].values():
        spec["source"] = str(FIXTURES / "nodes.yaml")  # /etc/your_co/nodes.yaml
    return complete(data, tasks=[ping("web_servers"), ping("db_servers")])


def _uk_servers(name: str = "servers") -> dict[str, Any]:
    return {name: {"type": "mcollective", "facts": ["country=uk"]}}


def _mcollective(data, env):
    # puppet#disable does not exist on emulated nodes: rpcutil#get_fact keeps batching, silent and summarize meaningful
    task = data["tasks"][0]["mcollective"]
    task.update(action="rpcutil.get_fact", properties={":fact": "country"}, batch_size=2)
    return complete(data, nodes=_uk_servers())


def _assert_property(data, env):
    task = data[0]["mcollective"]
    task.update(
        {
            "action": "rpcutil.get_fact",
            "properties": {"fact": "country"},
            "assert": "value=uk",
            "tries": 3,
            "try_sleep": 0,
        }
    )
    return complete(data, nodes=_uk_servers("dev"))


def _assert_deprecated(data, env):
    task = data[0]["mcollective_assert"]
    task.update(
        action="rpcutil.get_fact",
        properties={":fact": "country"},
        expression=["value", "==", "uk"],
        tries=2,
        try_sleep=0,
    )
    return complete(data, nodes=_uk_servers("dev"))


def _shell_task(data, env):
    script = env.tmp / "test.sh"
    script.write_text(f'#!/bin/sh\necho "$(pwd) $HELLO $LC_ALL $*" >> {env.tmp}/shell.out\n')
    script.chmod(0o755)
    data["tasks"][0]["shell"].update(command=str(script), cwd=str(env.tmp))  # /home/rip/test.sh, /tmp
    return complete(
        data, nodes={"test_servers": {"type": "yaml", "source": str(FIXTURES / "nodes.yaml"), "group": "web_servers"}}
    )


def _webhook(data, env):
    data[0]["webhook"]["uri"] = f"{env.http.url}/webhook"  # https://hooks.example.net/webhook
    return complete(
        data,
        nodes={"web_servers": {"type": "yaml", "source": str(FIXTURES / "nodes.yaml"), "group": "web_servers"}},
        inputs={"version": {"description": "release", "type": "String"}},
    )


def _nodes_in_string(data, env):
    data[0]["webhook"]["uri"] = f"{env.http.url}/webhook"
    return complete(
        data,
        nodes={"servers": {"type": "yaml", "source": str(FIXTURES / "nodes.yaml"), "group": "db_servers"}},
        inputs={"version": {"description": "release", "type": "String"}},
    )


def _graphite(data, env):
    data[0]["graphite_event"]["graphite"] = f"{env.http.url}/events/"
    inputs = {
        "release": {"description": "r", "type": "String"},
        "cluster": {"description": "c", "type": "String", "required": False, "default": "alpha"},
    }
    return complete(data, inputs=inputs)


def _slack_on_fail(data, env):
    # a bare `on_fail:` list; as a hook it belongs under hooks, after a main task that fails
    return complete({"hooks": data, "tasks": [{"shell": {"description": "Deploy", "command": "exit 3"}}]})


def _blue_green(data, env):
    for item in data["tasks"]:
        if "shell" in item:  # /usr/local/bin/deploy --cluster X
            item["shell"]["command"] = item["shell"]["command"].replace(
                "/usr/local/bin/deploy", f"echo deploy >> {env.tmp}/deploy.out; echo"
            )
            item["shell"]["command"] += f" >> {env.tmp}/deploy.out"
    return complete(data)


def _metadata(data, env):
    return complete(
        data,
        tasks=[
            {
                "shell": {
                    "command": "echo '{{{ metadata.name }}} {{{ metadata.tags }}} {{{ metadata.run_as }}}' > "
                    f"{env.tmp}/meta.out"
                }
            }
        ],
    )


def _file_store(data, env):
    data["data_stores"]["pb_yaml"]["file"] = str(env.tmp / "pb_data.yaml")  # ~/pb_data.yaml
    return complete(
        data,
        inputs={
            "cluster": {
                "description": "c",
                "type": "String",
                "data": "pb_yaml/cluster",
                "default": "alpha",
                "save": True,
            }
        },
        tasks=[
            {"shell": {"command": f"echo {{{{{{ inputs.cluster }}}}}} >> {env.tmp}/seen.out"}},
            {"data": {"action": "write", "key": "pb_yaml/cluster", "value": "bravo"}},
            {"data": {"action": "write", "key": "pb_yaml/replicas", "value": 3}},
            {"shell": {"command": f"echo {{{{{{ inputs.cluster }}}}}} >> {env.tmp}/seen.out"}},
            {"data": {"action": "delete", "key": "pb_yaml/replicas"}},
        ],
    )


def _etcd_store(data, env):
    store = data["data_stores"]["pb_etcd"]
    store["url"] = env.etcd_url  # etcd.example.net; no auth on the test etcd
    del store["user"], store["password"]
    return complete(
        data,
        inputs={"cluster": {"description": "c", "type": "String", "data": "pb_etcd/app/cluster", "default": "alpha"}},
        tasks=[
            {"data": {"action": "write", "key": "pb_etcd/app/cluster", "value": "bravo"}},
            {"shell": {"command": f"echo {{{{{{ inputs.cluster }}}}}} >> {env.tmp}/seen.out"}},
            {"data": {"action": "delete", "key": "pb_etcd/app/old"}},
        ],
    )


def _shell_store(data, env):
    store = data["data_stores"]["pb_shell"]
    store.update(command=str(FIXTURES / "shell_store.sh"), cwd=str(env.tmp))  # /path/to/store.sh
    store["environment"]["STORE_DIR"] = str(env.tmp)
    return complete(data, tasks=[{"data": {"action": "write", "key": "pb_shell/cluster", "value": "bravo"}}])


def _env_store(data, env):
    return complete(
        data,
        inputs={"cluster": {"description": "c", "type": "String", "data": "pb_env/cluster", "default": "alpha"}},
        tasks=[
            {"data": {"action": "write", "key": "pb_env/cluster", "value": "bravo"}},
            {"shell": {"command": f"echo $PB_cluster {{{{{{ inputs.cluster }}}}}} > {env.tmp}/env.out"}},
        ],
    )


def _memory_input(data, env):
    return complete(
        data,
        tasks=[
            {"shell": {"command": f"echo {{{{{{ inputs.cluster }}}}}} > {env.tmp}/mem.out"}},
            {"data": {"action": "write", "key": "local/cluster", "value": "charlie"}},
            {"shell": {"command": f"echo {{{{{{ inputs.cluster }}}}}} >> {env.tmp}/mem.out"}},
        ],
    )


EMULATED = {  # agents of the docs example -> what emulated nodes have
    "puppet.disable": ("emulated0.generate", {":size": 4}),
    "service.stop": ("emulated1.generate", {":size": 2}),
    "acme.upgrade": ("rpcutil.get_fact", {":fact": "country"}),
    "service.start": ("emulated1.generate", {":size": 3}),
    "puppet.enable": ("emulated0.generate", {":size": 5}),
    "puppet.runonce": ("rpcutil.ping", {}),
}


def _app_upgrade(data, env):
    """The docs' full example: PuppetDB -> broadcast discovery, its agents -> emulated ones, Slack and the webhook
    -> local."""
    data["uses"] = {"rpcutil": "~0.29.0", "emulated0": "~0.0.1", "emulated1": "~0.0.1"}
    servers = data["nodes"]["servers"]
    servers.update(discovery_method="mc", agents=["emulated0"], uses=["rpcutil", "emulated0", "emulated1"])
    servers["facts"] = ["country={{{ input.cluster }}}"]
    for item in data["tasks"]:
        kind, task = next(iter(item.items()))
        if kind == "mcollective_assert":
            task.update(
                action="rpcutil.get_fact",
                properties={"fact": "country"},
                expression=["value", "==", "uk"],
                tries=2,
                try_sleep=0,
            )
            continue
        action, props = EMULATED[task["action"]]
        task.update(action=action, properties=props)
        if "try_sleep" in task:
            task["try_sleep"] = 0
    for hook in data["hooks"].values():
        for item in hook:
            if "webhook" in item:
                item["webhook"]["uri"] = f"{env.http.url}/webhook"
    return data


def _spec_fixture(data, env):
    """The spec fixture (0.6.0): both node sets by broadcast, its puppet/apache agents -> emulated ones."""
    data["uses"] = {"rpcutil": "~0.29.0", "emulated0": "~0.0.1"}
    # limit: 1 keeps whichever node answers discovery first; pinning one node lets both runs see the same
    data["nodes"]["load_balancers"].update(
        discovery_method="mc",
        agents=["emulated0"],
        facts=["country=uk"],
        identities=["/^emu-0$/"],
        uses=["rpcutil", "emulated0"],
    )
    data["nodes"]["web_servers"].update(
        discovery_method="mc", agents=["emulated1"], facts=["country=de"], uses=["rpcutil", "emulated0"]
    )
    for hook in [data["tasks"], *data["hooks"].values()]:
        for item in hook:
            task = item["mcollective"]
            if task["action"].startswith("puppet."):
                task.update(action="emulated0.generate", properties={":size": 6})
            task["try_sleep"] = 0
    return data


def _spec_fixture_empty(data, env):
    data = _spec_fixture(data, env)
    data["nodes"]["load_balancers"]["facts"] = ["country=fr"]
    return data


def _nats_kv(data, env):
    return complete(
        {
            "data_stores": {
                "kv": {"type": "nats_kv", "servers": env.nats_url, "bucket": "PB_DIFF", "timeout": 5, "ttl": 30}
            },
            "locks": ["kv", "kv/deploy"],
            "inputs": {
                "cluster": {
                    "description": "c",
                    "type": "String",
                    "data": "kv/cluster",
                    "default": "alpha",
                    "save": True,
                    "validation": ":shellsafe",
                }
            },
            "nodes": {"servers": {"type": "mcollective", "facts": ["country=de"], "test": True}},
            "tasks": [
                ping("servers"),
                {"data": {"action": "write", "key": "kv/deployed", "value": "{{{ inputs.cluster }}}"}},
            ],
        }
    )


def kv_state(env: Env) -> Any:
    from choria_emulator.playbook.bridge import LoopThread
    from choria_emulator.playbook.stores import DataStores, StoreContext

    loop = LoopThread()
    try:
        stores = DataStores(StoreContext(loop=lambda: loop)).from_hash(
            {"kv": {"type": "nats_kv", "servers": env.nats_url, "bucket": "PB_DIFF"}}
        )
        stores.prepare()
        state = {
            k: stores["kv"]._call(stores["kv"]._read(k))
            if stores["kv"].holder(k) is None or k in ("cluster", "deployed")
            else "LOCKED"
            for k in ("cluster", "deployed", "deploy", "choria/locks/playbook/test_playbook")
            if _exists(stores, k)
        }
        stores.close()
        return state
    finally:
        loop.close()


def _exists(stores: Any, key: str) -> bool:
    try:
        stores.read(f"kv/{key}")
        return True
    except Exception:  # only presence matters here
        return False


def kv_reset(env: Env) -> None:
    from choria_emulator.playbook.bridge import LoopThread
    from choria_emulator.playbook.stores import DataStores, StoreContext

    loop = LoopThread()
    try:
        stores = DataStores(StoreContext(loop=lambda: loop)).from_hash(
            {"kv": {"type": "nats_kv", "servers": env.nats_url, "bucket": "PB_DIFF"}}
        )
        stores.prepare()
        for key in ("cluster", "deployed"):
            stores.delete(f"kv/{key}")
        stores.close()
    finally:
        loop.close()


def etcd_state(env: Env) -> Any:
    from conftest import Etcd

    return {"app/cluster": Etcd(None, env.etcd_url).get("app/cluster")}  # type: ignore[arg-type]


def _trail(name: str, ok: bool = True) -> dict[str, Any]:
    return {"shell": {"description": name, "command": f"echo {name} >> {{trail}}; {'true' if ok else 'exit 4'}"}}


def _hooks(*fail: str) -> Adapt:
    """Every task list and hook, recording the order they run in; ``fail`` names the one that fails."""

    def adapt(data, env):
        trail = env.tmp / "trail.out"

        def t(name):
            task = _trail(name, ok=name not in fail)
            task["shell"]["command"] = task["shell"]["command"].format(trail=trail)
            return task

        hooks = {h: [t(h)] for h in ("pre_book", "pre_task", "post_task", "on_success", "on_fail", "post_book")}
        return complete({"tasks": [t("first"), t("second")], "hooks": hooks})

    return adapt


def normalised(name: str) -> Callable[[Env], Any]:
    """A file's text with what differs run to run (request ids, run times) replaced."""

    def read(env: Env) -> Any:
        text = file_content(name)(env)
        if text is None:
            return None
        text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}", "ID", text)
        return re.sub(r"\b\d+\.\d+\b", "N", text)

    return read


PREVIOUS = "|".join("{{{ previous_task." + item + " }}}" for item in ("success", "description", "msg", "data"))


def _log(env: Env, line: str) -> dict[str, Any]:
    return {"shell": {"description": "log", "command": f"echo '{line}' >> {env.tmp}/log.out"}}


def _previous_after_each_type(data, env):
    """previous_task read after a shell task (output on stdout and stderr), a failing fail_ok task, data writes and
    deletes on a memory and a file store, a webhook and an RPC (0.6.0: msg, data chunks, raw description)."""
    store = env.tmp / "store.json"
    tasks = [
        _log(env, "first " + PREVIOUS),
        {"shell": {"command": "printf 'a b\\nc\\n'; echo err >&2"}},
        _log(env, "shell " + PREVIOUS),
        {"shell": {"description": "may fail {{{ inputs.environment }}}", "command": "exit 3", "fail_ok": True}},
        _log(env, "fail_ok " + PREVIOUS),
        {"data": {"action": "write", "key": "mem/x", "value": "hello"}},
        _log(env, "memory write " + PREVIOUS),
        {"data": {"action": "delete", "key": "mem/x"}},
        _log(env, "memory delete " + PREVIOUS),
        {"data": {"action": "write", "key": "file/y", "value": "{{{ inputs.environment }}}"}},
        _log(env, "file write " + PREVIOUS),
        {"webhook": {"uri": f"{env.http.url}/hook", "data": {"a": "b"}}},
        _log(env, "webhook " + PREVIOUS),
        {"mcollective": {"action": "rpcutil.ping", "nodes": ["emu-0"], "silent": True}},
        _log(env, "rpc {{{ previous_task.success }}}|{{{ previous_task.description }}}"),
    ]
    return complete(
        {
            "inputs": {"environment": {"description": "named like an Ansible keyword", "type": "String"}},
            "data_stores": {
                "mem": {"type": "memory"},
                "file": {"type": "file", "file": str(store), "format": "json", "create": True},
            },
            "tasks": tasks,
        }
    )


def _keyword_inputs(data, env):
    """Inputs named like Ansible keywords and magic variables keep their values."""
    names = ("environment", "name", "hosts", "port", "group_names", "tags")
    return complete(
        {
            "inputs": {n: {"description": n, "type": "String"} for n in names},
            "tasks": [_log(env, " ".join("{{{ inputs." + n + " }}}" for n in names))],
        }
    )


def _templated_description_with_hooks(data, env):
    """A templated description on a task wrapped by pre_task/post_task hooks (the block names must be valid Jinja)."""
    return complete(
        {
            "inputs": {"cluster": {"description": "c", "type": "String"}},
            "tasks": [
                {
                    "shell": {
                        "description": "Deploy {{{ inputs.cluster }}} now",
                        "command": f"echo main >> {env.tmp}/log.out",
                    }
                }
            ],
            "hooks": {
                "pre_task": [_log(env, "pre {{{ previous_task.description }}}")],
                "post_task": [_log(env, "post {{{ previous_task.description }}} {{{ previous_task.msg }}}")],
            },
        }
    )


def _abort_on_dynamic_input(data, env):
    """A dynamic input that can no longer be resolved aborts the run: no on_fail, no post_book (§3.2)."""
    return complete(
        {
            "data_stores": {"mem": {"type": "memory"}},
            "inputs": {"cluster": {"description": "c", "type": "String", "data": "mem/cluster"}},
            "tasks": [
                {"data": {"action": "write", "key": "mem/cluster", "value": "alpha"}},
                _log(env, "cluster {{{ inputs.cluster }}}"),
                {"data": {"action": "delete", "key": "mem/cluster"}},
                _log(env, "cluster again {{{ inputs.cluster }}}"),
            ],
            "hooks": {"on_fail": [_log(env, "on_fail")], "post_book": [_log(env, "post_book")]},
        }
    )


def _previous_in_on_fail_and_post_book(data, env):
    """previous_task in on_fail is the failed task, in post_book whichever task ran last."""
    return complete(
        {
            "tasks": [
                {"shell": {"description": "works", "command": "true"}},
                {"shell": {"description": "breaks", "command": "echo broken; exit 4"}},
            ],
            "hooks": {
                "on_fail": [_log(env, "on_fail " + PREVIOUS)],
                "post_book": [_log(env, "post_book " + PREVIOUS)],
            },
        }
    )


def _nested(given: bool, child_fails: bool = False, fail_ok: bool = False) -> Adapt:
    """The playbook task (our extension): a handler playbook run from on_fail with this run's or given inputs."""

    def adapt(data, env):
        child = complete(
            {
                "inputs": {
                    "cluster": {"description": "c", "type": "String"},
                    "environment": {"description": "e", "type": "String", "required": False, "default": "dev"},
                },
                "data_stores": {"mem": {"type": "memory"}},
                "nodes": {"handlers": {"type": "mcollective", "identities": ["emu-1"]}},
                "tasks": [
                    {"data": {"action": "write", "key": "mem/seen", "value": "{{{ inputs.cluster }}}"}},
                    _log(env, "handler {{{ inputs.cluster }}} {{{ inputs.environment }}} {{{ nodes.handlers }}}"),
                    {"shell": {"command": "exit 7" if child_fails else "true"}},
                ],
            },
            name="deploy_failure_handler",
        )
        write_playbook(env.tmp, child, "handler.yaml")
        task: dict[str, Any] = {"description": "Run the failure handler", "playbook": "handler.yaml"}
        if given:
            task["inputs"] = {"cluster": "other-{{{ inputs.cluster }}}"}
        if fail_ok:
            task["fail_ok"] = True
        return complete(
            {
                "inputs": {
                    "cluster": {"description": "c", "type": "String"},
                    "environment": {"description": "e", "type": "String", "required": False, "default": "prod"},
                },
                "data_stores": {"mem": {"type": "memory"}},
                "nodes": {"servers": {"type": "mcollective", "identities": ["emu-0"]}},
                "tasks": [
                    {"data": {"action": "write", "key": "mem/seen", "value": "parent"}},
                    {"shell": {"description": "deploy", "command": "exit 2"}},
                ],
                "hooks": {
                    "on_fail": [
                        {"playbook": task},
                        _log(env, "after {{{ previous_task.success }}} {{{ nodes.servers }}}"),
                    ],
                    "post_book": [_log(env, "post_book")],
                },
            }
        )

    return adapt


CASES = [
    Case(
        "tips_array_input_as_nodes",
        "website__docs_playbooks_tips__array_input_as_nodes.yaml",
        _array_nodes,
        {"cluster": ["emu-0", "emu-3"]},
    ),
    Case(
        "node_sets_mcollective_fact_filter",
        "website__docs_playbooks_node_sets__mcollective_fact_filter.yaml",
        _fact_filter,
    ),
    Case(
        "node_sets_mcollective_with_uses", "website__docs_playbooks_node_sets__mcollective_with_uses.yaml", _with_uses
    ),
    Case(
        "node_sets_common_options_shell", "website__docs_playbooks_node_sets__common_options_shell.yaml", _shell_nodes
    ),
    Case("node_sets_shell", "website__docs_playbooks_node_sets__shell.yaml", _shell_nodes),
    Case("node_sets_terraform", "website__docs_playbooks_node_sets__terraform.yaml", _terraform),
    Case("node_sets_yaml", "website__docs_playbooks_node_sets__yaml_node_sets.yaml", _yaml_sets),
    Case("tasks_mcollective", "website__docs_playbooks_tasks__mcollective.yaml", _mcollective),
    Case(
        "tasks_mcollective_assert_property",
        "website__docs_playbooks_tasks__mcollective_assert_property.yaml",
        _assert_property,
    ),
    Case(
        "tasks_mcollective_assert_deprecated",
        "website__docs_playbooks_tasks__mcollective_assert_task_deprecated.yaml",
        _assert_deprecated,
    ),
    Case(
        "tasks_shell",
        "website__docs_playbooks_tasks__shell.yaml",
        _shell_task,
        state=file_content("shell.out"),
        reset=clear("shell.out"),
    ),
    Case("tasks_webhook", "website__docs_playbooks_tasks__webhook.yaml", _webhook, {"version": "1.2.3"}),
    Case(
        "templates_nodes_joined_in_string",
        "website__docs_playbooks_templates__nodes_joined_in_string.yaml",
        _nodes_in_string,
        {"version": "2.0"},
    ),
    Case("tasks_graphite_event", "website__docs_playbooks_tasks__graphite_event.yaml", _graphite, {"release": "42"}),
    Case("tasks_slack_on_fail", "website__docs_playbooks_tasks__slack_on_fail.yaml", _slack_on_fail, success=False),
    Case(
        "tasks_data_task_blue_green",
        "website__docs_playbooks_tasks__data_task_blue_green.yaml",
        _blue_green,
        state=file_content("deploy.out"),
        reset=clear("deploy.out"),
    ),
    Case(
        "templates_metadata",
        "website__docs_playbooks_templates__metadata.yaml",
        _metadata,
        state=file_content("meta.out"),
        reset=clear("meta.out"),
    ),
    Case(
        "data_store_file",
        "website__docs_playbooks_data__store_file.yaml",
        _file_store,
        {"cluster": "delta"},
        state=lambda env: (file_content("pb_data.yaml")(env), file_content("seen.out")(env)),
        reset=clear("pb_data.yaml", "seen.out"),
    ),
    Case(
        "data_store_etcd",
        "website__docs_playbooks_data__store_etcd.yaml",
        _etcd_store,
        state=lambda env: (etcd_state(env), file_content("seen.out")(env)),
        reset=clear("seen.out"),
    ),
    Case(
        "data_store_shell",
        "website__docs_playbooks_data__store_shell.yaml",
        _shell_store,
        state=file_content("cluster"),
        reset=clear("cluster", "calls.log"),
    ),
    Case(
        "data_store_environment",
        "website__docs_playbooks_data__store_environment.yaml",
        _env_store,
        state=file_content("env.out"),
        reset=clear("env.out"),
    ),
    Case(
        "inputs_data_backed_memory",
        "website__docs_playbooks_inputs__input_data_backed_memory.yaml",
        _memory_input,
        state=file_content("mem.out"),
        reset=clear("mem.out"),
    ),
    Case(
        "basics_app_upgrade",
        "website__docs_playbooks_basics@794b372__app_upgrade_mcollective_assert.yaml",
        _app_upgrade,
        {"cluster": "uk", "target_version": "1.2.3"},
    ),
    Case(
        "spec_fixture_playbook",
        "mcollective-choria__spec_fixtures_playbooks@0.6.0__playbook.yaml",
        _spec_fixture,
        {"two": "second"},
    ),
    Case(
        "spec_fixture_playbook_empty_node_set",
        "mcollective-choria__spec_fixtures_playbooks@0.6.0__playbook.yaml",
        _spec_fixture_empty,
        {"two": "second"},
        success=False,
    ),
    Case("nats_kv_store_with_locks", None, _nats_kv, {"cluster": "echo"}, state=kv_state, reset=kv_reset),
    Case(
        "previous_task_after_each_task_type",
        None,
        _previous_after_each_type,
        {"environment": "prod"},
        state=lambda env: (normalised("log.out")(env), file_content("store.json")(env)),
        reset=clear("log.out", "store.json"),
    ),
    Case(
        "inputs_named_like_ansible_keywords",
        None,
        _keyword_inputs,
        {"environment": "prod", "name": "n", "hosts": "h", "port": "8080", "group_names": "g", "tags": "t"},
        state=file_content("log.out"),
        reset=clear("log.out"),
    ),
    Case(
        "templated_description_with_task_hooks",
        None,
        _templated_description_with_hooks,
        {"cluster": "alpha"},
        state=normalised("log.out"),
        reset=clear("log.out"),
    ),
    Case(
        "abort_on_a_dynamic_input_skips_the_hooks",
        None,
        _abort_on_dynamic_input,
        success=False,
        state=file_content("log.out"),
        reset=clear("log.out"),
    ),
    Case(
        "previous_task_in_on_fail_and_post_book",
        None,
        _previous_in_on_fail_and_post_book,
        success=False,
        state=normalised("log.out"),
        reset=clear("log.out"),
    ),
    Case(
        "playbook_task_with_the_same_inputs",
        None,
        _nested(given=False),
        {"cluster": "alpha"},
        success=False,
        state=file_content("log.out"),
        reset=clear("log.out"),
    ),
    Case(
        "playbook_task_with_given_inputs",
        None,
        _nested(given=True),
        {"cluster": "alpha"},
        success=False,
        state=file_content("log.out"),
        reset=clear("log.out"),
    ),
    Case(
        "playbook_task_that_may_fail",
        None,
        _nested(given=False, child_fails=True, fail_ok=True),
        {"cluster": "alpha"},
        success=False,
        state=file_content("log.out"),
        reset=clear("log.out"),
    ),
    Case(
        "playbook_task_whose_playbook_fails",
        None,
        _nested(given=False, child_fails=True),
        {"cluster": "alpha"},
        success=False,
        state=file_content("log.out"),
        reset=clear("log.out"),
    ),
    Case("hooks_in_order", None, _hooks(), state=file_content("trail.out"), reset=clear("trail.out")),
    Case(
        "hooks_main_task_fails",
        None,
        _hooks("second"),
        success=False,
        state=file_content("trail.out"),
        reset=clear("trail.out"),
    ),
    Case(
        "hooks_pre_book_fails",
        None,
        _hooks("pre_book"),
        success=False,
        state=file_content("trail.out"),
        reset=clear("trail.out"),
    ),
    Case(
        "hooks_post_task_fails",
        None,
        _hooks("post_task"),
        success=False,
        state=file_content("trail.out"),
        reset=clear("trail.out"),
    ),
    Case(
        "hooks_on_success_fails",
        None,
        _hooks("on_success"),
        success=False,
        state=file_content("trail.out"),
        reset=clear("trail.out"),
    ),
    Case(
        "hooks_main_and_on_fail_fail",
        None,
        _hooks("first", "on_fail"),
        success=False,
        state=file_content("trail.out"),
        reset=clear("trail.out"),
    ),
    Case(
        "hooks_post_book_fails",
        None,
        _hooks("post_book"),
        success=False,
        state=file_content("trail.out"),
        reset=clear("trail.out"),
    ),
]


def _http_view(requests: list[Any]) -> list[Any]:
    """Requests without what is new on every run (request ids, uuids, times)."""
    view = []
    for request in requests:
        parts = urllib.parse.urlsplit(request.path)
        query = {k: v for k, v in urllib.parse.parse_qs(parts.query).items()}
        if "attachments" in query:  # "failed after `0.01` seconds": run times differ run to run
            query["attachments"] = [json.loads(re.sub(r"\d+\.\d+", "N", a)) for a in query["attachments"]]
        body: Any = request.body.decode()
        if request.headers.get("Content-Type") == "application/json" and body:
            body = json.loads(body)
            if isinstance(body, dict):
                body.pop("when", None)
                # node lists keep discovery order, which differs from run to run
                body = {
                    k: sorted(v) if isinstance(v, list) and all(isinstance(i, str) for i in v) else v
                    for k, v in body.items()
                }
        view.append(
            {
                "method": request.method,
                "path": parts.path,
                "query": query,
                "body": body,
                "request_id": bool(request.headers.get("X-Choria-Request-ID")),
                "agent": request.headers.get("User-Agent"),
                "custom": {
                    k: v
                    for k, v in request.headers.items()
                    if k.lower().startswith("x-") and k.lower() != "x-choria-request-id"
                },
            }
        )
    return view


def _diff(native: Any, ansible: Any) -> str:
    """A unified diff of what differs (native first), for the failure message."""
    import difflib

    left = json.dumps(native, indent=1, sort_keys=True, default=str).splitlines()
    right = json.dumps(ansible, indent=1, sort_keys=True, default=str).splitlines()
    return "\n".join(difflib.unified_diff(left, right, "native", "ansible", lineterm="")) + "\n"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_native_and_converted_runs_do_the_same(case, network, nats, http, collections, tmp_path, request, monkeypatch):
    etcd_url = request.getfixturevalue("etcd").url if "etcd" in case.id else None
    env = Env(tmp_path, http, nats.url, etcd_url)
    source = load_sample(case.sample) if case.sample else {}
    data = case.adapt(source, env)
    path = write_playbook(tmp_path, data)
    monkeypatch.setenv("CHORIA_SLACK_API", f"{http.url}/api")
    monkeypatch.delenv("PB_cluster", raising=False)
    monkeypatch.delenv("USER", raising=False)

    if case.reset:
        case.reset(env)
    mark = len(network.audit_lines())
    report = run_native(path, case.inputs, network.options(slack_api=f"{http.url}/api"))
    native_calls = rpc_calls(network.calls_since(mark))
    native_http = _http_view(http.requests)
    native_state = case.state(env) if case.state else None
    monkeypatch.delenv("PB_cluster", raising=False)

    if case.reset:
        case.reset(env)
    http.requests.clear()
    site = convert_to(path, tmp_path)
    mark = len(network.audit_lines())
    extra = {
        **{f"input_{k}": v for k, v in case.inputs.items()},
        "choria_servers": [network.url],
        "choria_discovery_timeout": 0.5,
        "choria_rpc_timeout": 2.0,
    }
    result = ansible_playbook(collections, site, extra, env={"CHORIA_SLACK_API": f"{http.url}/api"})
    ansible_calls = rpc_calls(network.calls_since(mark))
    ansible_http = _http_view(http.requests)
    ansible_state = case.state(env) if case.state else None

    detail = (
        f"native: {report['report']}\nansible rc={result.returncode}\n{result.stdout[-8000:]}\n{result.stderr[-3000:]}"
    )
    assert report["report"]["success"] is case.success, detail
    assert result.ok is case.success, detail
    assert ansible_calls == native_calls, _diff(native_calls, ansible_calls) + detail
    assert ansible_http == native_http, _diff(native_http, ansible_http) + detail
    assert ansible_state == native_state, _diff(native_state, ansible_state) + detail
    if case.success:
        assert native_calls or native_http or native_state, "a case must act on something observable"
