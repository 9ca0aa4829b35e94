"""Generated docs: docs/ansible/reference.md and the role READMEs come from the plugins' and roles' own docs."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest
import yaml
from conftest import REPO, run

ROLES = sorted(p.parent.parent.name for p in (REPO / "roles").glob("*/meta/argument_specs.yml"))


def load_generator():
    spec = importlib.util.spec_from_file_location("ansible_reference", REPO / "scripts" / "ansible_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_docs_are_current():
    """Argument specs and module docs change often (and in parallel): the committed output must follow."""
    proc = run(["python", REPO / "scripts" / "ansible_reference.py", "--check"], cwd=REPO, check=False)
    assert proc.returncode == 0, (
        "generated docs are out of date with the plugins' docs or the roles' meta/argument_specs.yml: "
        f"run `make ansible-docs` and commit what it writes.\n{proc.stdout}"
    )


def test_reference_renders_every_module_and_role(tmp_path):
    output = tmp_path / "reference.md"
    run(["python", REPO / "scripts" / "ansible_reference.py", "--output", output], cwd=REPO)
    text = output.read_text()
    modules = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if not p.name.startswith("_"))
    for name in modules:
        assert f"\n## chorialab.choria.{name}\n" in text, name
    for name in ROLES:
        assert f"\n## chorialab.choria.{name} (role)\n" in text, name
    emulator = text.split("\n## chorialab.choria.emulator\n", 1)[1].split("\n## ", 1)[0]
    assert "| `instances` | int |  |" in emulator
    assert re.search(r"\| `servers` \| list of str \| `\[\"127\.0\.0\.1:4222\"\]` \|", emulator)
    assert "| action_group | full |" in emulator and "`chorialab.choria.choria`" in emulator
    assert "| `connected` | int |" in emulator
    assert "Parse error" not in text and "ERROR" not in text


@pytest.mark.parametrize("role", ROLES)
def test_role_readme_has_what_it_starts_an_example_and_every_variable(role):
    readme = (REPO / "roles" / role / "README.md").read_text()
    spec = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    assert readme.startswith(f"# chorialab.choria.{role}\n")
    assert "## Example\n" in readme and f"- role: chorialab.choria.{role}" in readme
    assert re.search(r"Runs one |Starts nothing", readme), "the README says what the role starts and where"
    for option in spec["main"]["options"]:
        assert f"| `{option}` |" in readme, option


def test_an_example_with_an_unknown_or_mistyped_variable_is_refused(tmp_path, monkeypatch):
    generator = load_generator()
    monkeypatch.setattr(generator, "EXAMPLES", tmp_path)
    example = tmp_path / "role_emulator.yml"
    play = {"name": "x", "hosts": "all", "roles": [{"role": "chorialab.choria.emulator", "vars": {}}]}

    play["roles"][0]["vars"] = {"emulator_instancez": 10}
    example.write_text(yaml.safe_dump([play]))
    with pytest.raises(SystemExit, match="emulator_instancez"):
        generator.check_example("emulator", example)

    play["roles"][0]["vars"] = {"emulator_instances": "lots"}
    example.write_text(yaml.safe_dump([play]))
    with pytest.raises(SystemExit, match="emulator_instances"):
        generator.check_example("emulator", example)

    example.write_text(yaml.safe_dump([dict(play, roles=[{"role": "chorialab.choria.nats"}])]))
    with pytest.raises(SystemExit, match="no play uses the role chorialab.choria.emulator"):
        generator.check_example("emulator", example)


def test_role_examples_pass_ansible_playbook_syntax_check(outside):
    """The examples the READMEs show, against the installed collection (roles resolved by FQCN)."""
    examples = sorted((REPO / "docs" / "ansible" / "examples").glob("role_*.yml"))
    assert [p.stem.removeprefix("role_") for p in examples] == ROLES
    for example in examples:
        run(["ansible-playbook", "--syntax-check", "-i", "localhost,", example], **outside)


# ---- action plugins: the argument spec an action checks is the one its module documents ----------

ACTIONS = sorted(p.stem for p in (REPO / "plugins" / "action").glob("*.py"))
SPEC_KEYS = ("type", "elements", "default", "choices", "aliases", "required")


def action_argument_spec(name: str) -> dict:
    """``ActionModule.ARGUMENT_SPEC`` of plugins/action/<name>.py, imported through the checkout's collection link."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import importlib; "
        "m = importlib.import_module('ansible_collections.chorialab.choria.plugins.action.' + sys.argv[2]); "
        "print(json.dumps(m.ActionModule.ARGUMENT_SPEC))"
    )
    proc = run(["python", "-c", code, REPO / "playbooks" / "collections", name], cwd=REPO)
    return json.loads(proc.stdout)


def normal(option: dict) -> dict:
    """The parts of an option that a documentation and an argument spec both state, with Ansible's defaults."""
    found = {key: option.get(key) for key in SPEC_KEYS}
    found["type"] = found["type"] or "str"
    found["required"] = bool(found["required"])
    found["aliases"] = sorted(found["aliases"] or [])
    return found


@pytest.mark.parametrize("action", ACTIONS)
def test_an_action_checks_exactly_the_options_its_module_documents(action):
    """Action plugins run on the controller with their own ARGUMENT_SPEC; plugins/modules/<name>.py and the
    doc fragments it extends (connection, discovery) document it. Nothing holds the two equal but this."""
    spec = action_argument_spec(action)
    documented = load_generator().ansible_doc("module", [action])[f"chorialab.choria.{action}"]["doc"]["options"]
    assert sorted(spec) == sorted(documented), "options checked by the action vs documented by its module"
    for name in spec:
        assert normal(spec[name]) == normal(documented[name]), name
