#!/usr/bin/env python3
"""Write docs/ansible/reference.md from the modules' DOCUMENTATION/EXAMPLES/RETURN and the roles' argument specs.

The reference is generated, never edited: ``make ansible-docs`` rewrites it. ``--check`` (run by
``make test-galaxy``) renders every module and role and says whether the committed file is current.
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

from antsibull_docs_parser import dom
from antsibull_docs_parser.md import to_md
from antsibull_docs_parser.parser import Context, parse

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "docs" / "ansible" / "reference.md"
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
        description = md(spec.get("description"), plugin, kind)
        rows.append(
            f"| `{prefix}{name}` | {kind_text} | {value(spec.get('default'))} | {cell(' '.join(extra + [description]))} |"
        )
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


def render() -> str:
    modules = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if not p.name.startswith("_"))
    roles = sorted(p.parent.parent.name for p in (REPO / "roles").glob("*/meta/argument_specs.yml"))
    module_docs = ansible_doc("module", modules) if modules else {}
    role_docs = ansible_doc("role", roles) if roles else {}
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="render everything; report (not fail) a stale reference")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    text = render()
    if args.check:
        stale = not args.output.exists() or args.output.read_text() != text
        print(f"{args.output}: {'out of date with the plugins; run `make ansible-docs`' if stale else 'up to date'}")
        return 0
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
