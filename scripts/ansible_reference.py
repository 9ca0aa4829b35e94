#!/usr/bin/env python3
"""Write docs/ansible/reference.md and every roles/<role>/README.md from the plugins' and roles' own docs.

The reference comes from the modules' DOCUMENTATION/EXAMPLES/RETURN and the roles' argument specs; a
role's README from its ``meta/argument_specs.yml`` (what it does, what it starts and where, every
variable) and its example play ``docs/ansible/examples/role_<role>.yml``, whose variables are
validated against the argument spec the way Ansible validates them when the role starts. Both are
generated, never edited: ``make ansible-docs`` rewrites them, ``--check`` (run by ``make test-galaxy``)
fails when a committed file is not what the docs produce now.
``ansible-doc --json`` reads the docs exactly as Ansible does (doc fragments merged);
antsibull-docs-parser turns Ansible markup (C(), O(), M() ...) into Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from antsibull_docs_parser import dom
from antsibull_docs_parser.md import to_md
from antsibull_docs_parser.parser import Context, parse

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "docs" / "ansible" / "reference.md"
EXAMPLES = REPO / "docs" / "ansible" / "examples"
COLLECTION = "chorialab.choria"
ANSIBLE_DOC = Path(sys.executable).with_name("ansible-doc")


def ansible_doc(kind: str, names: list[str]) -> dict[str, Any]:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "playbooks" / "collections"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [str(ANSIBLE_DOC), "--json", "-t", kind, *[f"{COLLECTION}.{n}" for n in names]],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"ansible-doc -t {kind} failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


def md(text: Any, plugin: str | None = None, kind: str = "module") -> str:
    """Ansible markup (a string or a list of paragraphs) as one Markdown line or paragraphs."""
    if text is None or text == "":
        return ""
    context = Context(
        current_plugin=dom.PluginIdentifier(fqcn=plugin, type=kind) if plugin else None,
        role_entrypoint="main" if kind == "role" else None,
    )
    return to_md(parse(text, context, errors="message"), current_plugin=context.current_plugin)


def cell(text: str) -> str:
    return text.replace("\n\n", "<br>").replace("\n", " ").replace("|", "\\|")


def value(data: Any) -> str:
    return "" if data is None else f"`{json.dumps(data)}`"


def options_table(options: dict[str, Any], plugin: str, kind: str, prefix: str = "") -> list[str]:
    rows = []
    for name in sorted(options):
        spec = options[name]
        kind_text = spec.get("type", "str") + (f" of {spec['elements']}" if spec.get("elements") else "")
        extra = []
        if spec.get("required"):
            extra.append("**required**")
        if spec.get("choices"):
            extra.append("choices: " + ", ".join(f"`{c}`" for c in spec["choices"]))
        if spec.get("aliases"):
            extra.append("aliases: " + ", ".join(f"`{a}`" for a in spec["aliases"]))
        description = cell(" ".join([*extra, md(spec.get("description"), plugin, kind)]))
        rows.append(f"| `{prefix}{name}` | {kind_text} | {value(spec.get('default'))} | {description} |")
        if spec.get("suboptions"):
            rows.extend(options_table(spec["suboptions"], plugin, kind, prefix=f"{prefix}{name}."))
    return rows


def returns_table(returns: dict[str, Any], plugin: str, prefix: str = "") -> list[str]:
    rows = []
    for name in sorted(returns):
        spec = returns[name]
        rows.append(
            f"| `{prefix}{name}` | {spec.get('type', '')} | {cell(md(spec.get('returned'), plugin))} | "
            f"{cell(md(spec.get('description'), plugin))} |"
        )
        if spec.get("contains"):
            rows.extend(returns_table(spec["contains"], plugin, prefix=f"{prefix}{name}."))
    return rows


def module_section(fqcn: str, data: dict[str, Any]) -> list[str]:
    doc = data["doc"]
    lines = [f"## {fqcn}", "", f"{md(doc['short_description'], fqcn)} (added in {doc.get('version_added', '?')})", ""]
    lines += [md(doc.get("description"), fqcn), ""]
    lines += ["| option | type | default | description |", "| --- | --- | --- | --- |"]
    lines += options_table(doc.get("options") or {}, fqcn, "module") + [""]
    if doc.get("attributes"):
        lines += ["| attribute | support | description |", "| --- | --- | --- |"]
        for name, attr in sorted(doc["attributes"].items()):
            details = md(attr.get("details"), fqcn)
            membership = ", ".join(f"`{m}`" for m in attr.get("membership", []))
            text = " ".join(t for t in (md(attr.get("description"), fqcn), details, membership) if t)
            lines.append(f"| {name} | {attr.get('support', '')} | {cell(text)} |")
        lines.append("")
    if doc.get("notes"):
        lines += ["Notes:", ""] + [f"- {cell(md(note, fqcn))}" for note in doc["notes"]] + [""]
    if data.get("examples"):
        lines += ["Examples:", "", "```yaml", data["examples"].strip("\n"), "```", ""]
    if data.get("return"):
        lines += ["| return value | type | returned | description |", "| --- | --- | --- | --- |"]
        lines += returns_table(data["return"], fqcn) + [""]
    return lines


def role_section(fqcn: str, data: dict[str, Any]) -> list[str]:
    lines = [f"## {fqcn} (role)", ""]
    for entry, spec in sorted(data["entry_points"].items()):
        lines += [f"Entry point `{entry}`: {md(spec.get('short_description'), fqcn, 'role')}", ""]
        lines += [md(spec.get("description"), fqcn, "role"), ""]
        lines += ["| variable | type | default | description |", "| --- | --- | --- | --- |"]
        lines += options_table(spec.get("options") or {}, fqcn, "role") + [""]
    return lines


def role_names() -> list[str]:
    return sorted(p.parent.parent.name for p in (REPO / "roles").glob("*/meta/argument_specs.yml"))


def render(role_docs: dict[str, Any]) -> str:
    modules = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if not p.name.startswith("_"))
    roles = role_names()
    module_docs = ansible_doc("module", modules) if modules else {}
    lines = [
        "# chorialab.choria: module and role reference",
        "",
        "<!-- Generated by scripts/ansible_reference.py from the modules' documentation and the roles'",
        "     meta/argument_specs.yml; do not edit. `make ansible-docs` rewrites it. -->",
        "",
        "Modules: "
        + ", ".join(f"[{COLLECTION}.{m}](#{COLLECTION.replace('.', '')}{m.replace('_', '')})" for m in modules),
        "",
        "Roles: " + ", ".join(f"`{COLLECTION}.{r}`" for r in roles),
        "",
    ]
    for name in modules:
        lines += module_section(f"{COLLECTION}.{name}", module_docs[f"{COLLECTION}.{name}"])
    for name in roles:
        lines += role_section(f"{COLLECTION}.{name}", role_docs[f"{COLLECTION}.{name}"])
    return "\n".join(lines).rstrip("\n") + "\n"


def example_role_vars(fqcn: str, plays: Any, path: Path) -> list[dict[str, Any]]:
    """The variables of every use of the role in an example playbook (``roles:`` entries)."""
    if not isinstance(plays, list):
        raise SystemExit(f"{path}: an example must be a playbook (a list of plays)")
    uses = []
    for play in plays:
        for entry in play.get("roles") or []:
            if isinstance(entry, dict) and entry.get("role", entry.get("name")) == fqcn:
                values = {k: v for k, v in entry.items() if k not in ("role", "name", "vars", "tags", "when")}
                values.update(entry.get("vars") or {})
                uses.append(values)
    if not uses:
        raise SystemExit(f"{path}: no play uses the role {fqcn} under roles:")
    return uses


def check_example(role: str, path: Path) -> str:
    """The example's text, after checking its variables against the role's argument spec as Ansible does."""
    if not path.exists():
        raise SystemExit(f"{path} is missing: every role has an example play there (its README shows it)")
    text = path.read_text()
    specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    options = specs["main"].get("options") or {}
    for values in example_role_vars(f"{COLLECTION}.{role}", yaml.safe_load(text), path):
        result = ArgumentSpecValidator(options).validate(values)
        if result.error_messages:
            raise SystemExit(f"{path}: {'; '.join(result.error_messages)}")
    return text


def role_readme(role: str, doc: dict[str, Any]) -> str:
    """roles/<role>/README.md: what the role does and starts, an example play, every variable."""
    fqcn = f"{COLLECTION}.{role}"
    example_path = EXAMPLES / f"role_{role}.yml"
    example = check_example(role, example_path).strip("\n")
    spec = doc["entry_points"]["main"]
    lines = [
        f"# {fqcn}",
        "",
        "<!-- Generated by scripts/ansible_reference.py from meta/argument_specs.yml and",
        f"     docs/ansible/examples/{example_path.name}; do not edit. `make ansible-docs` rewrites it. -->",
        "",
        md(spec.get("short_description"), fqcn, "role").rstrip(".") + ".",
        "",
    ]
    description = spec.get("description") or []
    for paragraph in [description] if isinstance(description, str) else description:
        lines += [md(paragraph, fqcn, "role"), ""]
    lines += [
        "## Example",
        "",
        f"From [docs/ansible/examples/{example_path.name}](../../docs/ansible/examples/{example_path.name}):",
        "",
        "```yaml",
        example,
        "```",
        "",
        "## Variables",
        "",
        "Ansible checks them against `meta/argument_specs.yml` before the role runs; a wrong type or an",
        "unknown choice fails the play with the variable named.",
        "",
        "| variable | type | default | description |",
        "| --- | --- | --- | --- |",
        *options_table(spec.get("options") or {}, fqcn, "role"),
        "",
        "## See also",
        "",
        "- [Module and role reference](../../docs/ansible/reference.md), "
        "[getting started](../../docs/ansible/getting-started.md), [scaling out](../../docs/ansible/scaling-out.md)",
        f"- `ansible-doc -t role {fqcn}`",
    ]
    return "\n".join(lines) + "\n"


def render_role_readmes(role_docs: dict[str, Any]) -> dict[Path, str]:
    return {
        REPO / "roles" / role / "README.md": role_readme(role, role_docs[f"{COLLECTION}.{role}"])
        for role in role_names()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a generated file is stale")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where the reference goes (default: %(default)s)")
    args = parser.parse_args()
    roles = role_names()
    role_docs = ansible_doc("role", roles) if roles else {}
    files = {args.output: render(role_docs), **render_role_readmes(role_docs)}
    if args.check:
        stale = [path for path, text in files.items() if not path.exists() or path.read_text() != text]
        for path in stale:
            print(
                f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}: out of date; run `make ansible-docs`"
            )
        if not stale:
            print(f"{len(files)} generated files up to date")
        return 1 if stale else 0
    for path, text in files.items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
