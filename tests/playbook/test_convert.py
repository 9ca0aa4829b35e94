"""``choria-emulator playbook convert``: the Ansible it writes, the AWX survey, what it refuses, and
the checks of the converted play (inputs, validation) under real ansible-playbook."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pbansible import BIN, ansible_env, ansible_lint, ansible_playbook, convert_to, write_playbook
from pbhelpers import CONVERTIBLE, complete, dump_yaml, load_sample, sample, write_convertible_samples

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
        "# Converted from website__docs_playbooks_basics@794b372__app_upgrade_mcollective_assert.yaml "
        "(app_upgrade 1.0.0)"
    )
    assert "# mcollective_assert is deprecated" in text
    plays = yaml.safe_load(text)
    assert plays[0]["hosts"] == "localhost" and plays[0]["connection"] == "local"
    survey = json.loads((tmp_path / "site.survey.json").read_text())
    assert survey["name"] == "app_upgrade 1.0.0"
    assert [(q["variable"], q["type"], q["required"]) for q in survey["spec"]] == [
        ("input_cluster", "text", True),
        ("input_target_version", "text", True),
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
    spec = {q["question_name"]: q for q in survey["spec"]}
    assert all(q["variable"] == f"input_{name}" for name, q in spec.items())
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
    assert pre_book["name"] == "Hook pre_book (a failure ends the run: neither on_fail nor post_book runs)"
    main, on_success = outcome["block"]
    assert [t["name"] for t in main["rescue"]] == [
        "Remember why the tasks failed",
        "Hook on_fail",
        "The tasks failed, so the playbook fails",
    ]
    assert on_success["name"] == "Hook on_success" and outcome["always"][0]["name"] == "Hook post_book"
    wrapped = main["block"][0]
    assert wrapped["name"] == "Run true, with the pre_task and post_task hooks"
    assert wrapped["block"][0]["name"] == "Pre_task" and wrapped["block"][1]["always"][0]["name"] == "Post_task"


@pytest.mark.parametrize(
    "text, jinja",
    [
        ("{{{ nodes.servers }}}", "{{ choria_nodes.servers }}"),
        ("on {{{ nodes.servers }}} now", "on {{ choria_nodes.servers | join(', ') }} now"),
        ("{{{ inputs.cluster }}}", "{{ inputs.cluster }}"),
        ("{{ input.flag }} flag", "{{ inputs.flag | chorialab.choria.choria_text }} flag"),
        ("{{{ previous_task.msg }}}", "{{ 'No previous task were found' }}"),
        ("{{{ metadata.name }}}", "{{ choria_playbook.name }}"),
        ("{{{ utc_date('%Y') }}}", '{{ now(utc=true).strftime("%Y") }}'),
        ("literal {{ foo.bar }} and {% raw", "literal {{ '{{' }} foo.bar }} and {{ '{%' }} raw"),
        ("{ input.cluster }", "{ input.cluster }"),
    ],
)
def test_templates_become_jinja(text, jinja):
    assert translate_string(text, Scope(input_kinds={"cluster": "text", "flag": "any"}, node_sets={"servers"})) == jinja


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


def test_every_convertible_sample_is_valid_ansible(tmp_path, collections):
    """All samples (fragments completed) convert, and ansible-playbook --syntax-check accepts them all."""
    sites = write_convertible_samples(tmp_path)
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", *map(str, sites)],
        capture_output=True,
        text=True,
        env=ansible_env(collections),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert len(sites) == len(CONVERTIBLE) >= 35


def lint_report(findings: list[dict]) -> str:
    return "\n".join(f"{f['check_name']} {f['location']['path']}: {f['description']}" for f in findings)


@pytest.mark.timeout(600)
def test_converted_samples_pass_ansible_lint_production(tmp_path, collections):
    """ansible-lint --profile production finds nothing in any converted sample."""
    sites = write_convertible_samples(tmp_path)
    findings = ansible_lint(collections, sites, tmp_path)
    assert findings == [], lint_report(findings)


@pytest.mark.timeout(600)
def test_converted_differential_cases_pass_ansible_lint_production(short_tmp, collections, http):
    """ansible-lint --profile production finds nothing in the converted differential cases."""
    from test_differential import CASES, Env

    sites = []
    for case in CASES:
        directory = short_tmp / case.id  # the cases name files under it: a short path, as in a user's playbook
        directory.mkdir(parents=True)
        env = Env(directory, http, "nats://127.0.0.1:4222", "http://127.0.0.1:2379")
        data = case.adapt(load_sample(case.sample) if case.sample else {}, env)
        sites.append(convert_to(write_playbook(directory, data), directory))
    findings = ansible_lint(collections, sites, short_tmp)
    assert findings == [], lint_report(findings)


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
    result = ansible_playbook(collections, site, {"input_test": value})
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
                        "command": "echo {{{ inputs.count }}} {{{ inputs.hosts }}} {{{ inputs.force }}} > " + str(out)
                    }
                }
            ],
        }
    )
    site = tmp_path / "site.yml"
    convert_file(_write(tmp_path, data), site)
    done = subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            str(site),
            "-e",
            "input_count=3",
            "-e",
            "input_hosts=a,b",
            "-e",
            "input_force=yes",
        ],
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


def test_node_groups_by_default_only_for_small_fleets(tmp_path, collections, network):
    """add_host runs once per node (88 s at 2,000 nodes): the sets become groups up to choria_node_groups_limit
    nodes (500) unless choria_node_groups says otherwise."""
    data = complete(
        {
            "nodes": {"uk": {"type": "mcollective", "facts": ["country=uk"]}},
            "tasks": [{"mcollective": {"action": "rpcutil.ping", "nodes": "{{{ nodes.uk }}}"}}],
        }
    )
    site = tmp_path / "site.yml"
    convert_file(_write(tmp_path, data), site)
    settings = {"choria_servers": [network.url], "choria_discovery_timeout": 0.5}
    grouped = ansible_playbook(collections, site, settings)
    skipped = ansible_playbook(collections, site, {**settings, "choria_node_groups": False})
    over_limit = ansible_playbook(collections, site, {**settings, "choria_node_groups_limit": 1})
    forced = ansible_playbook(
        collections, site, {**settings, "choria_node_groups_limit": 1, "choria_node_groups": True}
    )
    runs = (grouped, skipped, over_limit, forced)
    assert all(run.ok for run in runs), "".join(run.stdout[-3000:] for run in runs)
    for run in (grouped, forced):
        assert "changed: [localhost] => (item=uk: emu-0)" in run.stdout.replace("emu-2", "emu-0")
    for run in (skipped, over_limit):
        assert "TASK [Node sets as groups]" in run.stdout and "(item=" not in run.stdout  # not one iteration
    assert "nodes, more than choria_node_groups_limit (1): the node sets are not made inventory groups" in (
        over_limit.stdout
    )
    assert "choria_node_groups_limit" not in grouped.stdout + skipped.stdout + forced.stdout
