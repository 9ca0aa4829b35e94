"""docs/ansible/reference.md is generated from the plugins' docs: the generator must handle every one of them."""

from __future__ import annotations

import re

from conftest import REPO, run


def test_reference_renders_every_module_and_role(tmp_path):
    output = tmp_path / "reference.md"
    run(["python", REPO / "scripts" / "ansible_reference.py", "--output", output], cwd=REPO)
    text = output.read_text()
    modules = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if not p.name.startswith("_"))
    roles = sorted(p.parent.parent.name for p in (REPO / "roles").glob("*/meta/argument_specs.yml"))
    for name in modules:
        assert f"\n## chorialab.choria.{name}\n" in text, name
    for name in roles:
        assert f"\n## chorialab.choria.{name} (role)\n" in text, name
    emulator = text.split("\n## chorialab.choria.emulator\n", 1)[1].split("\n## ", 1)[0]
    assert "| `instances` | int |  |" in emulator
    assert re.search(r"\| `servers` \| list of str \| `\[\"127\.0\.0\.1:4222\"\]` \|", emulator)
    assert "| action_group | full |" in emulator and "`chorialab.choria.choria`" in emulator
    assert "| `connected` | int |" in emulator
    assert "Parse error" not in text and "ERROR" not in text
