"""``choria-emulator playbook convert``: the Ansible it writes, the AWX survey, what it refuses, and
the checks of the converted play (inputs, validation) under real ansible-playbook."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pbansible import BIN, ansible_env, ansible_playbook
from pbhelpers import SAMPLES, complete, dump_yaml, load_sample, sample

from choria_emulator.playbook.convert import ConvertError, convert, convert_file
from choria_emulator.playbook.convert.jinja import Scope, translate_string

CLI = [sys.executable, "-m", "choria_emulator", "playbook", "convert"]


def test_cli_writes_the_play_and_the_survey(tmp_path):
    site = tmp_path / "site.yml"
    done = subprocess.run(
        [
            *CLI,
            str(sample("website__docs_playbooks_basics@794b372__app_upgrade_mcollective_assert.yaml")),
            "-o",
            str(site),
            "--survey",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["wrote", str(site), "wrote", str(tmp_path / "site.survey.json")]
    text = site.read_text()
    assert text.startswith(
        "# Converted from website__docs_playbooks_basics@794b372__app_upgrade_mcollective_assert.yaml (app_upgrade 1.0.0)"
    )
    assert "# mcollective_assert is deprecated" in text
    plays = yaml.safe_load(text)
    assert plays[0]["hosts"] == "localhost" and plays[0]["connection"] == "local"
    survey = json.loads((tmp_path / "site.survey.json").read_text())
    assert survey["name"] == "app_upgrade 1.0.0"
    assert [(q["variable"], q["type"], q["required"]) for q in survey["spec"]] == [
        ("cluster", "text", True),
        ("target_version", "text", True),
    ]


def test_survey_types_choices_and_defaults():
    data = complete(
        {
            "inputs": {
                "name": {
                    "description": "n",
                    "type": "String",
                    "validation": ["alpha", "bravo"],
                    "required": False,
                    "default": "alpha",
                },
                "count": {"description": "c", "type": "Integer", "default": 3, "required": False},
                "force": {"description": "f", "type": ":bool", "required": False},
                "hosts": {"description": "h", "type": "Array"},
                "stored": {"description": "s", "type": "String", "data": "mem/x"},
                "hidden": {"description": "d", "type": "String", "data": "mem/x", "dynamic": True},
            },
            "data_stores": {"mem": {"type": "memory"}},
        }
    )
    _, survey, _ = convert(data)
    spec = {q["variable"]: q for q in survey["spec"]}
    assert list(spec) == ["name", "count", "force", "hosts", "stored"]
    assert (
        spec["name"]["type"] == "multiplechoice"
        and spec["name"]["choices"] == ["alpha", "bravo"]
        and spec["name"]["default"] == "alpha"
    )
    assert spec["count"]["type"] == "integer" and spec["count"]["default"] == 3
    assert spec["force"]["choices"] == ["true", "false"]
    assert spec["hosts"]["type"] == "textarea" and spec["hosts"]["required"] is True
    assert spec["stored"]["required"] is False  # data-bound inputs are never required


def test_every_task_set_maps_to_blocks_in_the_order_of_the_spec():
    data = complete(
        {
            "tasks": [{"shell": {"command": "true"}}],
            "hooks": {
                h: [{"shell": {"command": "true", "description": h}}]
                for h in ("pre_book", "pre_task", "post_task", "on_success", "on_fail", "post_book")
            },
        }
    )
    plays, _, _ = convert(data)
    run = plays[0]["tasks"][-1]
    assert run["name"] == "Run the playbook's task lists and hooks"
    pre_book, outcome = run["block"]
    assert pre_book["name"] == "pre_book"
    main, on_success = outcome["block"]
    assert [t["name"] for t in main["rescue"]] == [
        "Remember why the tasks failed",
        "on_fail",
        "The main tasks failed, so the playbook fails",
    ]
    assert on_success["name"] == "on_success" and outcome["always"][0]["name"] == "post_book"
    wrapped = main["block"][0]
    assert wrapped["block"][0]["name"] == "pre_task" and wrapped["block"][1]["always"][0]["name"] == "post_task"


@pytest.mark.parametrize(
    "text, jinja",
    [
        ("{{{ nodes.servers }}}", '{{ choria_nodes["servers"] }}'),
        ("on {{{ nodes.servers }}} now", "on {{ choria_nodes[\"servers\"] | join(', ') }} now"),
        ("{{{ inputs.cluster }}}", "{{ choria_inputs.cluster }}"),
        ("{{ input.flag }} flag", "{{ choria_inputs.flag | string | lower }} flag"),
        ("{{{ metadata.name }}}", "{{ choria_playbook.name }}"),
        ("{{{ utc_date('%Y') }}}", '{{ now(utc=true).strftime("%Y") }}'),
        ("literal {{ foo.bar }} and {% raw", "literal {{ '{{' }} foo.bar }} and {{ '{%' }} raw"),
        ("{ input.cluster }", "{ input.cluster }"),
    ],
)
def test_templates_become_jinja(text, jinja):
    assert (
        translate_string(text, Scope(input_kinds={"cluster": "scalar", "flag": "bool"}, node_sets={"servers"})) == jinja
    )


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "x"}, "Playbook is not in a valid format: A playbook version is needed"),
        (
            complete({"data_stores": {"c": {"type": "consul"}}}),
            "Data store c uses type consul, which this implementation does not support",
        ),
        (complete({"tasks": [{"rpc": {}}]}), "Cannot find a handler for Task type rpc"),
        (
            complete({"tasks": [{"shell": {"command": "echo {{{ inputs.nope }}}"}}]}),
            "Template refers to unknown input nope",
        ),
        (
            complete({"inputs": {"x": {"description": "x", "type": "Rspec"}}}),
            "Invalid input type Rspec given for input x",
        ),
        (complete({"hooks": {"after": []}}), "Unknown hook after"),
    ],
)
def test_unconvertible_playbooks_are_one_clear_error(data, message):
    with pytest.raises(ConvertError) as raised:
        convert(data)
    assert message in str(raised.value)


def test_cli_errors_without_traceback(tmp_path):
    done = subprocess.run(
        [*CLI, str(sample("mcollective-choria__spec_fixtures_playbooks__illegal.yaml")), "-o", str(tmp_path / "x.yml")],
        capture_output=True,
        text=True,
    )
    assert (
        done.returncode == 1
        and "Playbook is not in a valid format: Invalid playbook data items foo found" in done.stderr
    )
    assert "Traceback" not in done.stderr and not (tmp_path / "x.yml").exists()


CONVERTIBLE = sorted(
    [
        p.name
        for p in SAMPLES.glob("*.yaml")
        if "consul" not in p.name
        and "illegal" not in p.name
        and "node_source_file" not in p.name
        and "file_data" not in p.name
        and p.name != "mcollective-choria__spec_fixtures_playbooks__nodes.yaml"
    ]
)


def test_every_convertible_sample_is_valid_ansible(tmp_path, collections):
    """All samples (fragments completed) convert, and ansible-playbook --syntax-check accepts them all."""
    sites = []
    for name in CONVERTIBLE:
        data = load_sample(name)
        data = complete(data) if isinstance(data, list) or "name" not in data else data
        if name.endswith("slack_on_fail.yaml"):
            data = complete({"hooks": {"on_fail": data["on_fail"]}})
        for kind, ref in re.findall(
            r"(inputs?|nodes)\.(\w+)", json.dumps(data, default=str)
        ):  # fragments use what they do not declare
            if kind == "nodes":
                data.setdefault("nodes", {}).setdefault(ref, {"type": "yaml", "source": "nodes.yaml", "group": ref})
            else:
                data.setdefault("inputs", {}).setdefault(ref, {"description": ref, "type": "String"})
        if name.endswith("slack_on_fail.yaml") or "app_upgrade_first" in name:
            for hook in (data.get("hooks") or {}).values():
                for item in hook:
                    item.get("slack", {}).setdefault("text", item.get("slack", {}).get("message"))
        for item in data.get("tasks") or []:
            if "mcollective" in item:  # templates__nodes_array shows only the nodes property
                item["mcollective"].setdefault("action", "rpcutil.ping")
        if "locks.yaml" in name:
            data["data_stores"] = {"consul_store": {"type": "nats_kv"}}
        source = tmp_path / name
        source.write_text(yaml.safe_dump(json.loads(json.dumps(data, default=str)), sort_keys=False))
        site = tmp_path / f"{Path(name).stem}.yml"
        convert_file(source, site)
        sites.append(str(site))
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", *sites],
        capture_output=True,
        text=True,
        env=ansible_env(collections),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert len(sites) == len(CONVERTIBLE) >= 35


def test_converted_play_reports_missing_inputs_like_choria(tmp_path, collections):
    data = load_sample("mcollective-choria__spec_fixtures_playbooks@0.6.0__playbook.yaml")
    site = tmp_path / "site.yml"
    convert_file(_write(tmp_path, data), site)
    result = ansible_playbook(collections, site, {})
    assert not result.ok
    assert "Values were required but not given for inputs: two" in result.stdout


@pytest.mark.parametrize(
    "validation, value, message",
    [
        (":shellsafe", "a;b", "value should not have ; in it"),
        ("/^al/", "beta", "value should match (?-mix:^al)"),
        (["alpha", "bravo"], "charlie", "value should be one of alpha, bravo"),
        (":ipv4address", "300.1.1.1", "value should be an ipv4 address"),
    ],
)
def test_converted_play_validates_inputs_like_choria(tmp_path, collections, validation, value, message):
    data = complete(
        {
            "inputs": {"test": {"description": "t", "type": "String", "validation": validation}},
            "tasks": [{"shell": {"command": "true"}}],
        }
    )
    site = tmp_path / "site.yml"
    convert_file(_write(tmp_path, data), site)
    result = ansible_playbook(collections, site, {"test": value})
    assert not result.ok
    assert f"Failed to validate value for input test: {message}" in result.stdout


def test_converted_play_coerces_cli_strings_to_input_types(tmp_path, collections):
    out = tmp_path / "out"
    inputs = {
        "count": {"description": "c", "type": "Integer", "validation": ":integer"},
        "hosts": {"description": "h", "type": "Array"},
        "force": {"description": "f", "type": "Boolean"},
    }
    data = complete(
        {
            "inputs": inputs,
            "tasks": [
                {
                    "shell": {
                        "command": f"echo {{{{{{ inputs.count }}}}}} {{{{{{ inputs.hosts }}}}}} {{{{{{ inputs.force }}}}}} > {out}"
                    }
                }
            ],
        }
    )
    site = tmp_path / "site.yml"
    convert_file(_write(tmp_path, data), site)
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), str(site), "-e", "count=3", "-e", "hosts=a,b", "-e", "force=yes"],
        capture_output=True,
        text=True,
        env=ansible_env(collections),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout
    assert out.read_text().strip() == "3 a, b true"


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "choria.yaml"
    path.write_text(dump_yaml(data))
    return path
