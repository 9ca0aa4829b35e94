"""Writing converted plays: YAML that ansible-lint's production profile accepts, with the comments kept.

``"#"`` keys of a task become comment lines above it (the places where Ansible differs from
Choria, wrapped to the line length); ``"#noqa"`` becomes an ``# noqa:`` comment on the task's
name, for ansible-lint rules a faithful conversion cannot follow (a command Choria ran as it is).
Long strings fold at spaces so lines stay within 160 characters.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import yaml

from ..errors import PlaybookError
from ..playbook import read_playbook_file
from ..yamlload import Symbol
from .jinja import ConvertError
from .model import Conversion
from .play import convert_playbook

WIDTH = 120  # PyYAML breaks after the width is passed, so lines stay well within ansible-lint's 160
LONGEST = 160  # yamllint's line length in ansible-lint's default configuration
_MARK = re.compile(r"^(\s*)(- )?['\"]?(#|#noqa)['\"]?: ['\"]?@@(\d+)@@['\"]?$")


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)  # lists indented under their key, as ansible-lint likes


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    """Multi-line text as a literal block, or folded where a line is too long for one (it reads back the same)."""
    text = str.__str__(value)
    style = None
    if "\n" in text:
        style = "|" if max(map(len, text.splitlines())) <= WIDTH - 20 else ">"
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(Symbol, _str)


def _tokens(value: Any, notes: list[str]) -> Any:
    """``value`` with comment texts replaced by ``@@n@@`` tokens (``notes[n]``), ``#noqa`` kept after ``name``."""
    if isinstance(value, list):
        return [_tokens(v, notes) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    noqa = value.get("#noqa")
    for key, item in value.items():
        if key == "#noqa":
            continue
        if key == "#":
            notes.append(str(item))
            out["#"] = f"@@{len(notes) - 1}@@"
            continue
        out[key] = _tokens(item, notes)
        if key == "name" and noqa:
            notes.append(str(noqa))
            out["#noqa"] = f"@@{len(notes) - 1}@@"
    return out


def _yaml(data: Any) -> str:
    """PyYAML folds a long string at the first space past the width, so a long word (a path) can still
    end past 160 columns: then fold earlier, which puts that word on a line of its own (yamllint allows it)."""
    text = ""
    for width in (WIDTH, 80, 60, 40):
        text = yaml.dump(
            data, Dumper=_Dumper, sort_keys=False, width=width, allow_unicode=True, default_flow_style=False
        )
        if max(map(len, text.splitlines()), default=0) <= LONGEST:
            break
    return text


def dump_yaml(data: Any, header: list[str]) -> str:
    """YAML for ``data`` (a play list or a task list) with comments and the header lines."""
    notes: list[str] = []
    text = _yaml(_tokens(data, notes))
    lines: list[str] = []
    for line in text.splitlines():
        found = _MARK.match(line)
        if not found:
            lines.append(line)
            continue
        indent, dash, kind, index = found.group(1), found.group(2) or "", found.group(3), int(found.group(4))
        if kind == "#noqa":
            lines[-1] += f"  # noqa: {notes[index]}"
            continue
        wrapped = textwrap.wrap(notes[index], WIDTH - len(indent) - 4) or [""]
        lines.append(f"{indent}{dash}# {wrapped[0]}")
        lines.extend(f"{indent}{' ' * len(dash)}# {rest}" for rest in wrapped[1:])
    comments = [f"# {part}" for h in header for part in (textwrap.wrap(h, WIDTH) or [""])]
    return "\n".join(comments) + "\n---\n" + "\n".join(lines) + "\n"


def dump(plays: list[dict[str, Any]], header: list[str]) -> str:
    return dump_yaml(plays, header)


def nested_header(name: str, conversion: Conversion) -> list[str]:
    return [
        f"The tasks of {conversion.header[0].split(' (')[0].removeprefix('Converted from ')}, a nested Choria playbook "
        "(the playbook task): included by the play that runs it, with its variables.",
        *conversion.header[3:],
    ]


def convert_file(
    source: str | Path, output: str | Path, survey: str | None = None, hosts: str = "localhost"
) -> list[str]:
    """Convert ``source`` into ``output`` (plus a tasks file beside it per nested playbook, and an AWX
    survey spec when ``survey`` is not None); returns the files written."""
    path = Path(source)
    try:
        data = read_playbook_file(path)
        conversion = convert_playbook(data, path.name, path.resolve().parent, (str(path.resolve()),))
    except PlaybookError as exc:
        raise ConvertError(str(exc)) from None
    out = Path(output)
    out.write_text(dump([conversion.play(hosts)], conversion.header))
    written = [str(out)]
    for name, nested in conversion.nested.items():
        target = out.parent / name
        target.write_text(dump_yaml(nested.tasks, nested_header(name, nested)))
        written.append(str(target))
    if survey is not None:
        survey_path = Path(survey) if survey else out.with_suffix(".survey.json")
        survey_path.write_text(json.dumps(conversion.survey, indent=2) + "\n")
        written.append(str(survey_path))
    return written
