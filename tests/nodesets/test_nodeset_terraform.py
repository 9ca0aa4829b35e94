"""Terraform node sets on state written by the real Terraform binary with the null provider (offline)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from nodeset_support import FIXTURES, terraform_binary

from choria_emulator.nodesets import NodeSetContext, NodeSetError, resolve_node_set

WEB = ["web1.tf.example.net", "web2.tf.example.net", "web3.tf.example.net"]


def terraform(state: Path, output: str, binary: str | bool | None = None) -> dict:
    spec = {"type": "terraform", "statefile": str(state), "output": output}
    if binary is not None:
        spec["terraform"] = binary
    return spec


def resolve(spec: dict, **ctx) -> list[str]:
    return resolve_node_set("dev", spec, NodeSetContext(**ctx)).nodes


def test_list_output_through_the_terraform_binary(terraform_state: Path) -> None:
    assert resolve(terraform(terraform_state, "webservers", terraform_binary())) == WEB


def test_list_output_read_from_the_state_file(terraform_state: Path) -> None:
    assert resolve(terraform(terraform_state, "webservers", False)) == WEB


def test_binary_found_on_path_by_default(
    terraform_state: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A terraform on PATH that records its arguments, then runs the real one.
    log = tmp_path / "calls"
    wrapper = tmp_path / "bin" / "terraform"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec {terraform_binary()} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    assert resolve(terraform(terraform_state, "webservers")) == WEB
    assert log.read_text().split() == ["output", "-no-color", "-state", str(terraform_state), "-json", "webservers"]


def test_relative_statefile_starts_at_base_dir(terraform_state: Path) -> None:
    spec = terraform(Path(terraform_state.name), "webservers", False)
    assert resolve(spec, base_dir=str(terraform_state.parent)) == WEB


def test_object_outputs_give_host_vars(terraform_state: Path) -> None:
    for binary in (terraform_binary(), False):
        resolved = resolve_node_set("dev", terraform(terraform_state, "hosts", binary), NodeSetContext())
        assert resolved.nodes == WEB
        attributes = resolved.hostvars["web2.tf.example.net"]["terraform"]
        assert (
            attributes["role"] == "web" and attributes["name"] == "web2.tf.example.net" and attributes["id"].isdigit()
        )


@pytest.mark.parametrize("binary", ["real", False])
def test_string_output_is_the_upstream_error(terraform_state: Path, binary) -> None:
    with pytest.raises(NodeSetError) as err:
        resolve(terraform(terraform_state, "lb", terraform_binary() if binary == "real" else False))
    assert err.value.reason == "Only terraform outputs of type list is supported"


@pytest.mark.parametrize("binary", ["real", False])
def test_invalid_hostnames_are_rejected(terraform_state: Path, binary) -> None:
    with pytest.raises(NodeSetError) as err:
        resolve(terraform(terraform_state, "bad_names", terraform_binary() if binary == "real" else False))
    assert err.value.reason == "not a hostname is not a valid hostname"


def test_missing_output_with_the_binary_quotes_terraform(terraform_state: Path) -> None:
    with pytest.raises(NodeSetError, match=r'^Node set dev: Terraform exited with code 1: .*Output "nosuch" not found'):
        resolve(terraform(terraform_state, "nosuch", terraform_binary()))


def test_missing_output_in_the_state_file(terraform_state: Path) -> None:
    with pytest.raises(NodeSetError) as err:
        resolve(terraform(terraform_state, "nosuch", False))
    assert err.value.reason == f"Terraform output nosuch was not found in the statefile {terraform_state}"


def test_output_json_matches_what_the_source_reads(terraform_state: Path) -> None:
    """`terraform output -json NAME` (>= 0.12) prints the bare value; the state file holds it with its type."""
    done = subprocess.run(
        [terraform_binary(), "output", "-state", str(terraform_state), "-json", "webservers"],
        capture_output=True,
        text=True,
        env={**os.environ, "CHECKPOINT_DISABLE": "1"},
        check=True,
    )
    assert json.loads(done.stdout) == WEB
    state = json.loads(terraform_state.read_text())
    assert state["outputs"]["webservers"]["value"] == WEB and state["outputs"]["webservers"]["type"][0] == "tuple"


def test_pre_012_state_file_is_read() -> None:
    assert resolve(terraform(FIXTURES / "terraform-v3.tfstate", "webservers", False)) == [
        "web1.example.net",
        "web2.example.net",
    ]


def fake_terraform(tmp_path: Path, fixture: str) -> str:
    """A terraform that prints one of the upstream spec fixtures (a pre-0.12 ``output -json``)."""
    path = tmp_path / "terraform-0.11"
    path.write_text(f"#!/bin/sh\ncat {FIXTURES / fixture}\n")
    path.chmod(0o755)
    return str(path)


def test_pre_012_output_list_form(tmp_path: Path) -> None:
    spec = terraform(FIXTURES / "terraform-v3.tfstate", "webservers", fake_terraform(tmp_path, "terraform_list.json"))
    assert resolve(spec) == [
        "ec2-52-57-66-150.eu-central-1.compute.amazonaws.com",
        "ec2-52-57-74-75.eu-central-1.compute.amazonaws.com",
        "ec2-52-29-231-0.eu-central-1.compute.amazonaws.com",
        "ec2-52-57-73-4.eu-central-1.compute.amazonaws.com",
    ]


def test_pre_012_output_string_form(tmp_path: Path) -> None:
    spec = terraform(FIXTURES / "terraform-v3.tfstate", "webservers", fake_terraform(tmp_path, "terraform_string.json"))
    with pytest.raises(NodeSetError, match="Only terraform outputs of type list is supported"):
        resolve(spec)


def test_state_file_that_is_not_json(tmp_path: Path) -> None:
    broken = tmp_path / "broken.tfstate"
    broken.write_text("{not json")
    with pytest.raises(NodeSetError, match=rf"^Node set dev: The terraform statefile {broken} is not valid JSON"):
        resolve(terraform(broken, "webservers", False))
