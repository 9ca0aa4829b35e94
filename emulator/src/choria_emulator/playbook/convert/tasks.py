"""One Choria task as Ansible tasks (§2): mcollective -> chorialab.choria.rpc, shell -> command/shell,
webhook/slack/graphite_event -> ansible.builtin.uri, data -> chorialab.choria.playbook_data or set_fact.

Every converted task registers ``choria_previous`` (what ``previous_task`` reads). ``tries`` and
``try_sleep`` become ``until``/``retries``/``delay`` (``chorialab.choria.rpc`` retries itself, so
each try re-sends the request as Choria does); ``fail_ok`` with one try becomes ``ignore_errors``.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ..stores import parse_path
from ..tasks.slack import ICON
from ..tasks.webhook import USER_AGENT
from ..yamlload import plain
from .jinja import ConvertError, Scope, expression, is_template, literal, translate

SHELL_META = re.compile(r"[|&;<>()$`\\\"'*?\[\]#~=%\n{}]")
UUID = "{{ " + expression("uuid", "", Scope())[0] + " }}"


class TaskMapper:
    """Converts tasks with the play's knowledge of stores and the environment store."""

    def __init__(self, scope: Scope, stores: dict[str, Any], playbook_name: str):
        self.scope = scope
        self.stores = stores or {}
        self.playbook_name = playbook_name
        self.env_stores = any((s or {}).get("type") == "environment" for s in self.stores.values())

    # -- common -----------------------------------------------------------------------------
    def convert(self, kind: str, props: dict[str, Any]) -> list[dict[str, Any]]:
        props = dict(props or {})
        handler: Callable[[dict[str, Any]], dict[str, Any]] | None = getattr(self, f"_{kind}", None)
        if handler is None:
            raise ConvertError(f"Cannot find a handler for Task type {kind}")
        self.scope.notes = []
        description = props.get("description", f"{kind} task")
        try:
            tries = int(props.get("tries", 1))
        except (TypeError, ValueError):
            raise ConvertError(f"Task property tries should be an integer, got {props.get('tries')!r}") from None
        if tries < 1:
            return [
                {
                    "name": translate(description, self.scope),
                    "ansible.builtin.fail": {
                        "msg": f"{description}: tries is {tries}, so the task never runs and fails"
                    },
                }
            ]
        task = handler(props)
        task = {"name": translate(description, self.scope), **task}
        retried_by_action = kind in ("mcollective", "mcollective_assert")
        if not retried_by_action:
            task.setdefault("register", "choria_previous")
            if tries > 1:
                task["until"] = "choria_previous is not failed"
                task["retries"] = tries - 1
                task["delay"] = props.get("try_sleep", 10)
        if props.get("fail_ok"):
            if tries == 1:
                task["ignore_errors"] = True
            else:
                self.scope.note(
                    "fail_ok has no effect when tries > 1 (Choria 0.6.0): the task still fails after its last try"
                )
        out = []
        if props.get("pre_sleep") is not None and props.get("pre_sleep") is not False and not retried_by_action:
            out.append(
                {
                    "name": f"Sleep {props['pre_sleep']} seconds before: {description}",
                    "ansible.builtin.pause": {"seconds": int(props["pre_sleep"])},
                }
            )
        if self.scope.notes:
            task = {"#": " / ".join(self.scope.notes), **task}
        out.append(task)
        return out

    # -- mcollective ------------------------------------------------------------------------
    def _mcollective(self, props: dict[str, Any], legacy: bool = False) -> dict[str, Any]:
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
        if props.get("tries") is None:
            args["tries"] = 1
        if props.get("try_sleep") is None:
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
        args["timeout"] = "{{ choria_rpc_timeout | default(omit) }}"
        return {"chorialab.choria.rpc": args, "register": "choria_previous"}

    def _mcollective_assert(self, props: dict[str, Any]) -> dict[str, Any]:
        self.scope.note("mcollective_assert is deprecated; chorialab.choria.rpc evaluates its expression the same way")
        return self._mcollective(props, legacy=True)

    # -- shell ------------------------------------------------------------------------------
    def _shell(self, props: dict[str, Any]) -> dict[str, Any]:
        command = props.get("command")
        if not command:
            raise ConvertError("shell task: A command was not given")
        text = translate(command, self.scope)
        nodes = props.get("nodes")
        if isinstance(nodes, list):
            text += " --nodes " + ",".join(str(n) for n in translate(nodes, self.scope))
        elif is_template(nodes):
            expr = translate(nodes, self.scope)
            text += " --nodes {{ (" + expr[3:-3].strip() + ") | join(',') }}"
        elif nodes is not None:
            raise ConvertError("shell task: Nodes were given but is not an array")
        # Choria runs the line through /bin/sh: `command` only where that makes no difference (a plain
        # program path and arguments), `shell` for builtins, pipes, variables and the like.
        simple = not SHELL_META.search(command) and "/" in str(command).split()[0]
        module = "ansible.builtin.command" if simple else "ansible.builtin.shell"
        task: dict[str, Any] = {module: {"cmd": text}}
        if props.get("cwd"):
            task[module]["chdir"] = translate(props["cwd"], self.scope)
        env = {str(k): translate(v, self.scope) for k, v in (props.get("environment") or {}).items()}
        env["LC_ALL"] = "C"
        if self.env_stores:
            task["environment"] = "{{ choria_environment | combine(" + literal(env) + ") }}"
            if any(is_template(v) for v in env.values()):
                task["environment"] = "{{ choria_environment | combine(choria_shell_environment) }}"
                task["vars"] = {"choria_shell_environment": env}
        else:
            task["environment"] = env
        if props.get("timeout"):
            task["timeout"] = int(props["timeout"])
            self.scope.note("on timeout Ansible stops the task itself; Choria sent TERM, then KILL 2 s later")
        return task

    # -- webhook, slack, graphite -----------------------------------------------------------
    def _webhook(self, props: dict[str, Any]) -> dict[str, Any]:
        uri = props.get("uri")
        if not uri:
            raise ConvertError("webhook task: A uri is required")
        method = str(props.get("method") or "POST").upper()
        if method not in ("GET", "POST"):
            raise ConvertError("webhook task: Only GET and POST is supported as methods")
        headers = {"User-Agent": USER_AGENT, "X-Choria-Request-ID": UUID}
        if method == "POST":
            headers = {"Content-Type": "application/json", **headers}
        headers.update({str(k): translate(v, self.scope) for k, v in (props.get("headers") or {}).items()})
        url = translate(uri, self.scope)
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
            args["url"] = f"{url}{joiner}{{{{ choria_query | urlencode }}}}"
            task["vars"] = {"choria_query": data}
        if "verify_ssl" in props:
            from ..tasks.webhook import truthy

            args["validate_certs"] = truthy(props["verify_ssl"])
        if int(props.get("tries", 1)) > 1:
            self.scope.note(
                "Ansible templates the arguments once per task, so every retry sends the same X-Choria-Request-ID (Choria made a new one per try)"
            )
        return task

    def _slack(self, props: dict[str, Any]) -> dict[str, Any]:
        for key, message in (
            ("channel", "A channel is required"),
            ("text", "Message text is required"),
            ("token", "A bot token is required"),
        ):
            if not props.get(key):
                raise ConvertError(f"slack task: {message}")
        text = translate(props["text"], self.scope)
        attachment = {
            "fallback": text,
            "color": props.get("color", "#ffa449"),
            "text": text,
            "pretext": f"Task: {props.get('description', 'slack task')}",
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
            "channel": translate(props["channel"], self.scope),
            "icon_url": ICON,
            "attachments": "{{ choria_slack_attachments | to_json(separators=(',', ':')) }}",
        }
        self.scope.note(
            "slack is a GET of chat.postMessage; choria_slack_api (default $CHORIA_SLACK_API or https://slack.com/api) sets where"
        )
        return {
            "ansible.builtin.uri": {
                "url": "{{ choria_slack_api }}/chat.postMessage?{{ choria_slack_query | urlencode }}",
                "method": "GET",
                "headers": {"User-Agent": USER_AGENT},
                "return_content": True,
                "status_code": [200],
            },
            "vars": {"choria_slack_attachments": [attachment], "choria_slack_query": query},
            "failed_when": "choria_previous.status != 200 or not (choria_previous.json.ok | default(false))",
        }

    def _graphite_event(self, props: dict[str, Any]) -> dict[str, Any]:
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
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "X-Choria-Request-ID": UUID}
        headers.update({str(k): translate(v, self.scope) for k, v in (props.get("headers") or {}).items()})
        body = {
            "what": translate(props["what"], self.scope),
            "tags": ",".join(str(t) for t in tags),
            "when": "{{ now(utc=true).timestamp() | int }}",
            "data": translate(props["data"], self.scope),
        }
        return {
            "ansible.builtin.uri": {
                "url": translate(props["graphite"], self.scope),
                "method": "POST",
                "headers": headers,
                "body_format": "json",
                "body": body,
                "status_code": [200, 201],
                "return_content": True,
            }
        }

    # -- data -------------------------------------------------------------------------------
    def _data(self, props: dict[str, Any]) -> dict[str, Any]:
        action, key = props.get("action"), props.get("key")
        if action not in ("write", "delete"):
            raise ConvertError("data task: Action should be one of delete or write")
        if not key:
            raise ConvertError("data task: A key to act on is needed")
        if action == "write" and props.get("value") is None:
            raise ConvertError("data task: A value is needed when writing")
        store, item = parse_path(key)
        kind = (self.stores.get(store) or {}).get("type")
        value = translate(plain(props.get("value")), self.scope)
        if kind in ("memory", "environment"):
            fact = "choria_memory" if kind == "memory" else "choria_environment"
            name = item if kind == "memory" else f"{(self.stores[store] or {}).get('prefix') or ''}{item}"
            holder = f"{fact}[{literal(store)}]" if kind == "memory" else fact
            if action == "write":
                update = (
                    "{" + literal(name) + ": (choria_value if choria_value is string else choria_value | to_json)}"
                    if kind == "environment"
                    else "{" + literal(name) + ": choria_value}"
                )
            else:
                update = None
            if kind == "memory":
                merged = (
                    f"{fact} | combine({{{literal(store)}: {holder} | combine({update})}})"
                    if update
                    else f"{fact} | combine({{{literal(store)}: {holder} | dict2items | rejectattr('key', 'equalto', {literal(name)}) | items2dict}})"
                )
            else:
                merged = (
                    f"{fact} | combine({update})"
                    if update
                    else f"{fact} | dict2items | rejectattr('key', 'equalto', {literal(name)}) | items2dict"
                )
            self.scope.note(
                f"the {kind} store lives in the fact {fact} of this play"
                + (" and is passed to shell tasks as their environment" if kind == "environment" else "")
            )
            task: dict[str, Any] = {"ansible.builtin.set_fact": {fact: "{{ " + merged + " }}"}}
            if action == "write":
                task["vars"] = {"choria_value": value}
            return task
        args = {"op": action, "path": key, "stores": "{{ choria_data_stores }}", "playbook": self.playbook_name}
        if action == "write":
            args["value"] = value
        return {"chorialab.choria.playbook_data": args}


def has_template(value: Any) -> bool:
    if isinstance(value, dict):
        return any(has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(has_template(v) for v in value)
    return is_template(value)


__all__ = ["TaskMapper", "expression", "has_template"]
