"""One Choria task as Ansible tasks (§2): mcollective -> chorialab.choria.rpc, shell -> shell (through
/bin/sh, as Choria ran it), webhook/slack/graphite_event -> ansible.builtin.uri, data ->
chorialab.choria.playbook_data or set_fact on the memory/environment facts, playbook -> the
nested playbook's converted tasks (:mod:`.nested`).

Every converted task registers ``choria_previous`` (what ``previous_task`` reads; tasks that are
``set_fact`` set it themselves in Choria's shape) and leaves what the converter knows about it in
:attr:`TaskMapper.meta`, which the play keeps as ``choria_tasks`` where ``previous_task`` needs
it. ``tries``/``try_sleep`` become ``until``/``retries``/``delay`` (``chorialab.choria.rpc``
retries itself, re-sending the request as Choria does); ``fail_ok`` with one try becomes
``ignore_errors``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..stores import parse_path
from ..tasks.slack import ICON
from ..tasks.webhook import USER_AGENT, truthy
from ..yamlload import plain
from .jinja import DYNAMIC, ConvertError, Previous, Scope, escape, inner, is_template, literal, translate
from .names import task_name

# Commands ansible-lint would rather see as modules; a converted task runs what Choria ran.
LINT_MODULE_COMMANDS = frozenset(
    "apt-get chkconfig curl git hg letsencrypt mktemp mount patch rpm rsync sed service supervisorctl svn systemctl "
    "tar unzip wget yum".split()
)
Tasks = list[dict[str, Any]]
NestedConverter = Callable[[str, "dict[str, Any] | None", str], tuple[Tasks, Tasks, Tasks]]


def block_keys_last(task: dict[str, Any]) -> dict[str, Any]:
    """``block``/``rescue``/``always`` after every other key (ansible-lint ``key-order``)."""
    last = ("block", "rescue", "always")
    return {**{k: v for k, v in task.items() if k not in last}, **{k: task[k] for k in last if k in task}}


class TaskMapper:
    """Converts tasks with the play's knowledge of stores, the environment store and nested playbooks."""

    def __init__(self, scope: Scope, stores: dict[str, Any], playbook_name: str, nested: NestedConverter | None = None):
        self.scope = scope
        self.stores = stores or {}
        self.playbook_name = playbook_name
        self.env_stores = any((s or {}).get("type") == "environment" for s in self.stores.values())
        self.nested = nested
        self.meta: dict[str, dict[str, Any]] = {}
        self._count = 0

    def next_id(self) -> str:
        self._count += 1
        return f"t{self._count}"

    # -- common -----------------------------------------------------------------------------
    def convert(self, kind: str, props: dict[str, Any], mark: bool = False) -> tuple[Previous, list[dict[str, Any]]]:
        """``(what previous_task means after it, Ansible tasks)``: the task's id, unless it never runs
        (``tries: 0``); ``mark`` names the task in its ``vars`` for a dynamic previous_task."""
        props = dict(props or {})
        handler: Callable[[dict[str, Any], str], dict[str, Any]] | None = getattr(self, f"_{kind}", None)
        if handler is None:
            raise ConvertError(f"Cannot find a handler for Task type {kind}")
        task_id = self.next_id()
        self.scope.notes = []
        description = str(props.get("description", f"{kind} task"))
        self.scope.descriptions[task_id] = description
        try:
            tries = int(props.get("tries", 1))
        except (TypeError, ValueError):
            raise ConvertError(f"Task property tries should be an integer, got {props.get('tries')!r}") from None
        meta: dict[str, Any] = {"type": kind, "description": escape(description)}  # a play variable: templated
        if props.get("fail_ok") and tries == 1:
            meta["fail_ok"] = True
        self.meta[task_id] = meta
        name = task_name(kind, props, self.scope)
        if tries < 1:
            # Choria never runs it, so nothing is appended to the results: previous_task stays what it was
            previous = self.scope.previous
            task = {
                "name": name,
                "ansible.builtin.fail": {"msg": f"{description}: tries is {tries}, so the task never runs and fails"},
            }
            del self.meta[task_id]
            if previous is None or previous == DYNAMIC:
                return previous, [task]
            return previous, [self._marked(task, previous, mark)]
        task = {"name": name, **handler(props, task_id)}
        retried_by_action = kind in ("mcollective", "mcollective_assert")
        registers = "register" in task or not ("ansible.builtin.set_fact" in task or "block" in task)
        if registers:
            task["register"] = "choria_previous"
        if not retried_by_action and tries > 1 and "block" not in task:
            task["until"] = "choria_previous is not failed"
            task["retries"] = tries - 1
            task["delay"] = int(props.get("try_sleep", 10))
        if props.get("fail_ok"):
            if tries == 1:
                if registers:
                    task["ignore_errors"] = True
            else:
                self.scope.note(
                    "fail_ok has no effect when tries > 1 (Choria 0.6.0): the task still fails after its last try"
                )
        out = []
        if props.get("pre_sleep") is not None and props.get("pre_sleep") is not False and not retried_by_action:
            out.append(
                {
                    "name": f"Sleep {props['pre_sleep']} seconds before the next task",
                    "ansible.builtin.pause": {"seconds": int(props["pre_sleep"])},
                }
            )
        if self.scope.notes:
            task = {"#": " / ".join(self.scope.notes), **task}
        out.append(block_keys_last(self._marked(task, task_id, mark)))
        return task_id, out

    @staticmethod
    def _marked(task: dict[str, Any], task_id: str, mark: bool) -> dict[str, Any]:
        if not mark:
            return task
        variables = dict(task.get("vars") or {})
        variables["choria_task"] = task_id
        return {**task, "vars": variables}

    # -- mcollective ------------------------------------------------------------------------
    def _mcollective(self, props: dict[str, Any], task_id: str, legacy: bool = False) -> dict[str, Any]:
        action = str(props.get("action") or "")
        agent, _dot, act = action.partition(".")
        if not agent or not act:
            raise ConvertError(
                f"mcollective task {props.get('description', '')!r}: action should be agent.action, got {action!r}"
            )
        args: dict[str, Any] = {"agent": agent, "action": act}
        if "nodes" in props:
            args["nodes"] = translate(props["nodes"], self.scope)
        if props.get("properties"):
            args["arguments"] = translate(
                {str(k).lstrip(":"): v for k, v in plain(props["properties"]).items()}, self.scope
            )
        for key in ("batch_size", "batch_sleep_time", "tries", "try_sleep", "pre_sleep"):
            if props.get(key) is not None and not (key == "pre_sleep" and props[key] is False):
                args[key] = translate(props[key], self.scope)
        if props.get("try_sleep") is None and int(props.get("tries", 1) or 1) > 1:
            args["try_sleep"] = 10
        if props.get("silent"):
            args["silent"] = True
        if "summarize" in (props.get("post") or []):
            args["summarize"] = True
        if props.get("assert"):
            args["assert"] = translate(props["assert"], self.scope)
        if legacy:
            args["expression"] = plain(props.get("expression"))
        args["description"] = translate(props.get("description", "mcollective task"), self.scope)
        return {"chorialab.choria.rpc": args}

    def _mcollective_assert(self, props: dict[str, Any], task_id: str) -> dict[str, Any]:
        self.scope.note("mcollective_assert is deprecated; chorialab.choria.rpc evaluates its expression the same way")
        return self._mcollective(props, task_id, legacy=True)

    # -- shell ------------------------------------------------------------------------------
    def _shell(self, props: dict[str, Any], task_id: str) -> dict[str, Any]:
        command = props.get("command")
        if not command:
            raise ConvertError("shell task: A command was not given")
        text = translate(command, self.scope)
        nodes = props.get("nodes")
        if isinstance(nodes, list):
            text += " --nodes " + ",".join(str(n) for n in translate(nodes, self.scope))
        elif is_template(nodes):
            text += " --nodes {{ (" + inner(translate(nodes, self.scope)) + ") | join(',') }}"
        elif nodes is not None:
            raise ConvertError("shell task: Nodes were given but is not an array")
        self.meta[task_id]["command"] = text
        args: dict[str, Any] = {"cmd": text, "executable": "/bin/sh", "strip_empty_ends": False}
        if props.get("cwd"):
            args["chdir"] = translate(props["cwd"], self.scope)
        task: dict[str, Any] = {"ansible.builtin.shell": args, "changed_when": True}
        env = {str(k): translate(v, self.scope) for k, v in (props.get("environment") or {}).items()}
        env["LC_ALL"] = "C"
        if self.env_stores:
            task["environment"] = "{{ choria_environment | combine(choria_shell_environment) }}"
            task["vars"] = {"choria_shell_environment": env}
        else:
            task["environment"] = env
        if props.get("timeout"):
            task["timeout"] = int(props["timeout"])
            self.scope.note("on timeout Ansible stops the task itself; Choria sent TERM, then KILL 2 s later")
        lint = []
        first = Path(str(command).split()[0]).name if str(command).split() else ""
        if first in LINT_MODULE_COMMANDS:
            lint.append("command-instead-of-module")
        if "|" in str(command).replace("||", ""):
            lint.append("risky-shell-pipe")
        if lint:
            self.scope.note(
                "Choria ran this command line through /bin/sh as it is (no module, no pipefail); "
                "ansible-lint's advice applies once you own the play"
            )
            task["#noqa"] = " ".join(lint)
        return task

    # -- webhook, slack, graphite -----------------------------------------------------------
    def _request_id(self, task_id: str) -> str:
        return "{{ (choria_run_id ~ " + literal(task_id) + ") | to_uuid }}"

    def _webhook(self, props: dict[str, Any], task_id: str) -> dict[str, Any]:
        uri = props.get("uri")
        if not uri:
            raise ConvertError("webhook task: A uri is required")
        method = str(props.get("method") or "POST").upper()
        if method not in ("GET", "POST"):
            raise ConvertError("webhook task: Only GET and POST is supported as methods")
        url = translate(uri, self.scope)
        request_id = self._request_id(task_id)
        self.meta[task_id].update(method=method, uri=url, request_id=request_id)
        headers = {"User-Agent": USER_AGENT, "X-Choria-Request-ID": request_id}
        if method == "POST":
            headers = {"Content-Type": "application/json", **headers}
        headers.update({str(k): translate(v, self.scope) for k, v in (props.get("headers") or {}).items()})
        args: dict[str, Any] = {
            "url": url,
            "method": method,
            "headers": headers,
            "status_code": [200, 201],
            "return_content": True,
        }
        task: dict[str, Any] = {"ansible.builtin.uri": args}
        data = translate(plain(props.get("data") or {}), self.scope)
        if method == "POST":
            args.update(body_format="json", body=data)
        elif data:
            joiner = "&" if "?" in str(uri) else "?"
            args["url"] = f"{url}{joiner}{{{{ choria_query | chorialab.choria.choria_query }}}}"
            task["vars"] = {"choria_query": data}
        if "verify_ssl" in props:
            args["validate_certs"] = truthy(props["verify_ssl"])
        if int(props.get("tries", 1)) > 1:
            self.scope.note(
                "Ansible templates the arguments once per task, so every retry sends the same X-Choria-Request-ID "
                "(Choria made a new one per try)"
            )
        return task

    def _slack(self, props: dict[str, Any], task_id: str) -> dict[str, Any]:
        for key, message in (
            ("channel", "A channel is required"),
            ("text", "Message text is required"),
            ("token", "A bot token is required"),
        ):
            if not props.get(key):
                raise ConvertError(f"slack task: {message}")
        text = translate(props["text"], self.scope)
        channel = translate(props["channel"], self.scope)
        self.meta[task_id]["channel"] = channel
        attachment = {
            "fallback": text,
            "color": props.get("color", "#ffa449"),
            "text": text,
            "pretext": escape(f"Task: {props.get('description', 'slack task')}"),  # untemplated, as in 0.6.0
            "mrkdwn_in": ["text"],
            "footer": "Choria Playbooks",
            "fields": [
                {"title": "user", "value": "{{ choria_caller_id }}", "short": True},
                {"title": "playbook", "value": "{{ choria_playbook.name }}", "short": True},
            ],
        }
        query = {
            "token": translate(props["token"], self.scope),
            "username": props.get("username", "Choria"),
            "channel": channel,
            "icon_url": ICON,
            "attachments": "{{ [choria_slack_attachment] | to_json(separators=(',', ':')) }}",
        }
        self.scope.note(
            "slack is a GET of chat.postMessage; choria_slack_api (default $CHORIA_SLACK_API or "
            "https://slack.com/api) sets where"
        )
        return {
            "ansible.builtin.uri": {
                "url": "{{ choria_slack_api }}/chat.postMessage?"
                "{{ choria_slack_query | chorialab.choria.choria_query }}",
                "method": "GET",
                "headers": {"User-Agent": USER_AGENT},
                "return_content": True,
                "status_code": [200],
            },
            "vars": {"choria_slack_attachment": attachment, "choria_slack_query": query},
            "register": "choria_previous",
            "failed_when": "choria_previous.status != 200 or not (choria_previous.json.ok | default(false))",
        }

    def _graphite_event(self, props: dict[str, Any], task_id: str) -> dict[str, Any]:
        for key, message in (
            ("what", "The 'what' property is required"),
            ("data", "The 'data' property is required"),
            ("graphite", "The 'graphite' property is required"),
        ):
            if not props.get(key):
                raise ConvertError(f"graphite_event task: {message}")
        tags = props.get("tags", ["choria"])
        if not isinstance(tags, list):
            raise ConvertError("graphite_event task: 'tags' should be an array")
        url = translate(props["graphite"], self.scope)
        request_id = self._request_id(task_id)
        self.meta[task_id].update(method="POST", uri=url, request_id=request_id)
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "X-Choria-Request-ID": request_id}
        headers.update({str(k): translate(v, self.scope) for k, v in (props.get("headers") or {}).items()})
        event = {
            "what": translate(props["what"], self.scope),
            "tags": ",".join(str(t) for t in tags),
            "data": translate(props["data"], self.scope),
        }
        return {
            "ansible.builtin.uri": {
                "url": url,
                "method": "POST",
                "headers": headers,
                "body_format": "json",
                "body": "{{ choria_event | combine({'when': now(utc=true).timestamp() | int}) }}",
                "status_code": [200, 201],
                "return_content": True,
            },
            "vars": {"choria_event": event},
        }

    # -- data -------------------------------------------------------------------------------
    def _data(self, props: dict[str, Any], task_id: str) -> dict[str, Any]:
        action, key = props.get("action"), props.get("key")
        if action not in ("write", "delete"):
            raise ConvertError("data task: Action should be one of delete or write")
        if not key:
            raise ConvertError("data task: A key to act on is needed")
        if action == "write" and props.get("value") is None:
            raise ConvertError("data task: A value is needed when writing")
        self.meta[task_id]["action"] = action
        store, item = parse_path(key)
        kind = (self.stores.get(store) or {}).get("type")
        value = translate(plain(props.get("value")), self.scope)
        if kind in ("memory", "environment"):
            return self._fact_data(action, str(key), store, item, kind, value)
        args = {"op": action, "path": key, "stores": "{{ choria_data_stores }}", "playbook": self.playbook_name}
        if action == "write":
            args["value"] = value
        return {"chorialab.choria.playbook_data": args}

    def _fact_data(self, action: str, key: str, store: str, item: str, kind: str, value: Any) -> dict[str, Any]:
        """A memory or environment store item, kept in a fact of the play (one process: nothing else shares it)."""
        message = f"Wrote value to {key}" if action == "write" else f"Deleted data item {key}"
        if kind == "memory":
            old = f"choria_memory[{literal(store)}][{literal(item)}] | default(none)"
        else:
            name = f"{(self.stores[store] or {}).get('prefix') or ''}{item}"
            old = (
                f"choria_environment[{literal(name)}] | default(lookup('ansible.builtin.env', {literal(name)}) or none)"
            )
        # the data is what Ruby's store returned: the value written, or the one a delete removed
        data = "{{ choria_value }}" if action == "write" else "{{ " + old + " }}"
        outcome = {"success": True, "msg": message, "data": [data]}
        if kind == "memory":
            holder = f"choria_memory[{literal(store)}]"
            updated = (
                f"{holder} | combine({{{literal(item)}: choria_value}})"
                if action == "write"
                else f"{holder} | dict2items | rejectattr('key', 'equalto', {literal(item)}) | items2dict"
            )
            facts = {"choria_memory": "{{ choria_memory | combine({" + literal(store) + ": " + updated + "}) }}"}
            self.scope.note("the memory store lives in the fact choria_memory of this play")
        else:
            name = f"{(self.stores[store] or {}).get('prefix') or ''}{item}"
            facts = {
                "choria_environment": "{{ choria_environment | combine({"
                + literal(name)
                + ": (choria_value if choria_value is string else choria_value | to_json(separators=(',', ':')))}) }}"
                if action == "write"
                else "{{ choria_environment | dict2items | rejectattr('key', 'equalto', "
                + literal(name)
                + ") | items2dict }}"
            }
            self.scope.note(
                "the environment store lives in the fact choria_environment of this play, "
                "which shell tasks get as their environment"
            )
        task: dict[str, Any] = {"ansible.builtin.set_fact": {**facts, "choria_previous": {"choria_outcome": outcome}}}
        if action == "write":
            task["vars"] = {"choria_value": value}
        return task

    # -- playbook (our extension) -----------------------------------------------------------
    def _playbook(self, props: dict[str, Any], task_id: str) -> dict[str, Any]:
        path = props.get("playbook")
        if not path or not isinstance(path, str):
            raise ConvertError("playbook task: A playbook to run is required")
        if is_template(path):
            raise ConvertError(f"playbook task: the playbook path {path} is a template, which cannot be converted")
        if "inputs" in props and not isinstance(props["inputs"], dict):
            raise ConvertError("playbook task: The inputs of a playbook task should be a hash of input names to values")
        if self.nested is None:
            raise ConvertError("playbook task: nested playbooks can only be converted from a file")
        if int(props.get("tries", 1)) > 1:
            raise ConvertError("playbook task: tries > 1 cannot be converted (Ansible cannot retry an include)")
        given = translate(plain(props["inputs"]), self.scope) if "inputs" in props else None
        block, rescue, always = self.nested(path, given, task_id)
        if props.get("fail_ok"):  # tries is 1 here: the failure is recorded as the result, and the run goes on
            rescue = [task for task in rescue if "ansible.builtin.fail" not in task]
        return {"block": block, "rescue": rescue, "always": always}
