"""``type: terraform``: node names from a Terraform output (upstream ``TerraformNodes``, playbooks.md §5.2).

With a ``terraform`` binary (the ``terraform`` option, else the first on ``PATH``) we run
``terraform output -state <statefile> -json <output>`` as upstream does; without one (or with
``terraform: false``) we read the state file ourselves: format 4 (Terraform >= 0.12) and 3.
Both the pre-0.12 ``{"type": "list", "value": [...]}`` form and a bare JSON list are accepted.
List items may be names, or objects naming the node in ``name``/``hostname``/``fqdn``/``certname``/
``identity`` whose other attributes become host variables.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from ..context import Discovered
from ..errors import check_hostnames
from .base import Source
from .shell import run_command

NAME_KEYS = ("name", "hostname", "fqdn", "certname", "identity")
RUN_TIMEOUT = 120.0
BOX_DRAWING = str.maketrans("", "", "╷│╵")


class TerraformSource(Source):
    type = "terraform"
    options = frozenset({"statefile", "output", "terraform"})

    def configure(self) -> None:
        self.binary = self._binary()
        statefile = self.opts.string("statefile")
        if not statefile:
            raise self.error("A terraform state file is needed")
        self.statefile = self.path(statefile)
        if not (self.statefile.is_file() and os.access(self.statefile, os.R_OK)):
            raise self.error(f"The terraform statefile {self.statefile} is not readable")
        self.output = self.opts.string("output")
        if not self.output:
            raise self.error("An output name is needed")

    def _binary(self) -> str | None:
        value = self.opts.get("terraform")
        if value is False or (isinstance(value, str) and value.lower() in ("false", "no", "none")):
            return None  # read the state file only
        if value in (None, "", True):
            return shutil.which("terraform")
        path = str(value)
        found = (
            shutil.which(path)
            if "/" not in path
            else (str(self.path(path)) if os.access(self.path(path), os.X_OK) and self.path(path).is_file() else None)
        )
        if not found:
            raise self.error(f"The supplied terraform path {path} is not executable")
        return found

    def discover(self) -> Discovered:
        data = self._run_terraform() if self.binary else self._read_state()
        return self._nodes(data)

    def _run_terraform(self) -> Any:
        command = [str(self.binary), "output", "-no-color", "-state", str(self.statefile), "-json", str(self.output)]
        env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
        done = run_command(command, cwd=self.statefile.parent, env=env, timeout=RUN_TIMEOUT)
        if done is None:
            raise self.error(f"Terraform did not finish within {RUN_TIMEOUT:g} seconds")
        if isinstance(done, OSError):
            raise self.error(f"Terraform could not be started ({self.binary}): {done}")
        if done.returncode != 0:
            text = " ".join((done.stdout + done.stderr).translate(BOX_DRAWING).split())
            raise self.error(f"Terraform exited with code {done.returncode}: {text[:500]}")
        try:
            return json.loads(done.stdout)
        except ValueError:
            raise self.error(f"Terraform output {self.output} is not JSON: {done.stdout[:200]!r}") from None

    def _read_state(self) -> Any:
        try:
            state = json.loads(Path(self.statefile).read_text())
        except OSError as exc:
            raise self.error(f"The terraform statefile {self.statefile} is not readable: {exc.strerror}") from None
        except ValueError as exc:
            raise self.error(f"The terraform statefile {self.statefile} is not valid JSON: {exc}") from None
        if not isinstance(state, dict):
            raise self.error(f"The terraform statefile {self.statefile} is not a Terraform state")
        outputs = state.get("outputs")
        if state.get("version") == 3 or outputs is None:  # pre-0.12 state: outputs live per module
            root = next(
                (m for m in state.get("modules") or [] if isinstance(m, dict) and m.get("path") == ["root"]), {}
            )
            outputs = root.get("outputs")
        if not isinstance(outputs, dict) or self.output not in outputs:
            raise self.error(f"Terraform output {self.output} was not found in the statefile {self.statefile}")
        return outputs[self.output]

    def _nodes(self, data: Any) -> Discovered:
        if isinstance(data, dict) and "value" in data:
            if not _is_list_type(data.get("type", "list")):
                raise self.error("Only terraform outputs of type list is supported")
            data = data["value"]
        if not isinstance(data, list):
            raise self.error("Only terraform outputs of type list is supported")
        nodes: list[str] = []
        hostvars: dict[str, dict[str, Any]] = {}
        for item in data:
            if isinstance(item, dict):
                name = next((item[k] for k in NAME_KEYS if isinstance(item.get(k), str)), None)
                if name is None:
                    raise self.error(
                        f"Terraform output {self.output} has an object without any of {', '.join(NAME_KEYS)}: "
                        f"{json.dumps(item)[:200]}"
                    )
                hostvars[name] = {"terraform": item}
                nodes.append(name)
            elif isinstance(item, str):
                nodes.append(item)
            else:
                raise self.error(f"{json.dumps(item)} is not a valid hostname")
        return Discovered(check_hostnames(self.name, nodes), hostvars)


def _is_list_type(kind: Any) -> bool:
    """``"list"`` (pre-0.12) or a type constraint like ``["list", "string"]``, ``["tuple", [...]]``,
    ``["set", ...]``."""
    if isinstance(kind, list) and kind:
        kind = kind[0]
    return kind in ("list", "tuple", "set")
