"""The Python the Galaxy artifact ships, held in seconds to what ``ansible-test sanity`` checks in minutes.

``make test-galaxy-artifact`` runs ansible-test's pep8, pylint, yamllint and validate-modules on the built
artifact for ansible-core 2.16-2.19 (minutes, with its own venvs). ``make lint`` runs this script, so the
usual ways new code fails there show up at once, with the sanity test that would fail named:

* pylint ``disallowed-name``: ansible-test's pylint config (``collection.cfg``) forbids ``_``, ``foo``,
  ``bar``, ``baz``, ``toto``, ``tutu`` and ``tata`` as names; ruff has no such rule.
* pep8 E701/E704: a ``def`` or ``class`` with its body on the same line (what ``ruff format`` makes of a
  Protocol stub whose body is ``...``); ansible-core 2.16-2.18's pep8 reports it, ruff has no E704.
* yamllint and validate-modules read DOCUMENTATION, EXAMPLES and RETURN (and a doc fragment's
  attributes) from the source as one string literal each: anything else (``+`` of two strings, a
  name) makes them crash or skip the plugin. Each literal, and each filter/test plugin's ``.yml``
  documentation, must also parse as YAML.
* ruff over the shipped files with the rules that mirror the pylint checks ``collection.cfg`` leaves on
  (``RUFF_RULES``; the repository-wide ruff settings apply too).

The shipped files are the ones ``ansible-galaxy collection build`` puts into the tarball: every file that no
pattern of galaxy.yml's ``build_ignore`` (nor ansible-galaxy's own defaults) matches, with fnmatch on the
path relative to the collection root, as ansible-galaxy matches them (tests/ansible/test_galaxy.py holds
this list to the tarball's). Exit status 1 and one line per finding.
"""

from __future__ import annotations

import ast
import fnmatch
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# ansible-galaxy's own build ignores (ansible.galaxy.collection._build_files_manifest_walk), besides galaxy.yml's.
GALAXY_DEFAULT_IGNORES = ("galaxy.yml", "galaxy.yaml", ".git", "*.pyc", "*.retry", "tests/output")
# bad-names of ansible-test's pylint config for collections (ansible_test/_util/controller/sanity/pylint/config).
DISALLOWED_NAMES = frozenset({"_", "foo", "bar", "baz", "toto", "tutu", "tata"})
DOC_NAMES = ("DOCUMENTATION", "EXAMPLES", "RETURN")
# ruff rules for the pylint messages collection.cfg leaves enabled: every stable ruff rule derived from one of
# them (PL + the pylint code), and those ruff files under other linters (mutable defaults, ``type(x) == y``,
# unused imports, E711/E712 and E722 come with the repository's E, F and B selection already).
RUFF_RULES = (
    "PLC0105", "PLC0131", "PLC0132", "PLC0205", "PLC0207", "PLC0208", "PLC0414", "PLC2401", "PLC2403", "PLC3002",
    "PLE0100", "PLE0101", "PLE0115", "PLE0116", "PLE0117", "PLE0118", "PLE0237", "PLE0241", "PLE0302", "PLE0303",
    "PLE0304", "PLE0305", "PLE0307", "PLE0308", "PLE0309", "PLE0604", "PLE0605", "PLE0643", "PLE0704", "PLE1132",
    "PLE1142", "PLE1205", "PLE1206", "PLE1300", "PLE1307", "PLE1310", "PLE1507", "PLE1519", "PLE1520", "PLE1700",
    "PLE2502", "PLE2510", "PLE2512", "PLE2513", "PLE2514", "PLE2515", "PLR0124", "PLR0133", "PLR0206", "PLR0402",
    "PLR1708", "PLR1722", "PLR1733", "PLR1736", "PLW0108", "PLW0120", "PLW0127", "PLW0128", "PLW0129", "PLW0131",
    "PLW0133", "PLW0177", "PLW0211", "PLW0245", "PLW0602", "PLW0604", "PLW0642", "PLW0711", "PLW1501", "PLW1507",
    "PLW1510", "PLW2101", "PLW3301",
    "C416",  # unnecessary-comprehension (R1721)
    "C419",  # use-a-generator (R1729)
    "ISC001",  # implicit-str-concat on one line (W1404)
    "T100",  # forgotten-debug-statement (W1515)
    "B012",  # lost-exception (W0150)
    "B033",  # duplicate-value (W0130)
    "COM818",  # trailing-comma-tuple (R1707)
    "N804",  # bad-classmethod-argument (C0202)
)  # fmt: skip
# Not mirrored: ruff's G rules (pylint's logging checks look at logging.Logger calls only; the playbook's own
# logger takes f-strings).


def build_ignore(root: Path) -> list[str]:
    """galaxy.yml's build_ignore plus ansible-galaxy's defaults."""
    galaxy = yaml.safe_load((root / "galaxy.yml").read_text())
    return [*GALAXY_DEFAULT_IGNORES, *(galaxy.get("build_ignore") or [])]


def shipped_files(root: Path, suffix: str = ".py") -> list[Path]:
    """The files ending in ``suffix`` that ``ansible-galaxy collection build`` ships, as ansible-galaxy walks."""
    patterns = build_ignore(root)
    found = []
    for top, dirs, files in os.walk(root):
        rel_top = Path(top).relative_to(root)
        dirs[:] = sorted(d for d in dirs if not any(fnmatch.fnmatch(str(rel_top / d), p) for p in patterns))
        for name in sorted(files):
            rel = rel_top / name
            if name.endswith(suffix) and not any(fnmatch.fnmatch(str(rel), p) for p in patterns):
                found.append(rel)
    return sorted(found)


def defined_names(tree: ast.AST) -> Iterator[tuple[ast.AST, str]]:
    """The names a module binds where pylint checks them: assignment, loop, ``with``, comprehension and
    walrus targets, attributes assigned, functions and their named arguments (not ``*args``/``**kwargs``,
    nor a lambda's), classes, ``except ... as`` and match captures."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            yield node, node.id
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            yield node, node.attr
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node, node.name
            arguments = node.args
            for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
                yield arg, arg.arg
        elif isinstance(node, ast.ClassDef):
            yield node, node.name
        elif isinstance(node, ast.ExceptHandler) and node.name:
            yield node, node.name
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            yield node, node.name
        elif isinstance(node, ast.MatchMapping) and node.rest:
            yield node, node.rest


def one_line_bodies(tree: ast.AST, lines: list[str]) -> Iterator[ast.stmt]:
    """``def``/``class`` statements whose first body statement shares its line (``def f(self) -> int: ...``)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = node.body[0]
            if lines[first.lineno - 1][: first.col_offset].strip():
                yield node


def doc_assignments(tree: ast.Module, is_fragment: bool) -> Iterator[tuple[int, str, ast.expr]]:
    """``(line, name, value)`` of the documentation strings ansible-test reads from a plugin's source."""
    for statement in tree.body:
        if is_fragment and isinstance(statement, ast.ClassDef):
            for inner in statement.body:
                if isinstance(inner, ast.Assign) and len(inner.targets) == 1:
                    target = inner.targets[0]
                    if isinstance(target, ast.Name) and target.id.isupper():
                        yield inner.lineno, f"{statement.name}.{target.id}", inner.value
        elif isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name) and target.id in DOC_NAMES:
                yield statement.lineno, target.id, statement.value


def yaml_problem(text: str) -> str | None:
    """The YAML error of ``text`` in one line, or None when it parses."""
    try:
        yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return " ".join(str(exc).split())
    return None


def check_source(root: Path, rel: Path) -> list[str]:
    """The findings in one shipped Python file (``rel``, relative to the collection's ``root``)."""
    source = (root / rel).read_text()
    tree = ast.parse(source, filename=str(rel))
    lines = source.splitlines()
    found = []
    for node, name in defined_names(tree):
        if name in DISALLOWED_NAMES:
            line = getattr(node, "lineno", 0)
            found.append(f"{rel}:{line}: name {name!r} (ansible-test pylint: disallowed-name)")
    for node in one_line_bodies(tree, lines):
        found.append(
            f"{rel}:{node.lineno}: body on the line of its 'def'/'class' (ansible-test pep8 E701/E704 on 2.16-2.18;"
            " a docstring body instead of '...' keeps ruff format from joining it)"
        )
    if rel.parts[0] == "plugins":
        is_fragment = rel.parts[:2] == ("plugins", "doc_fragments")
        for line, name, value in doc_assignments(tree, is_fragment):
            if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                found.append(
                    f"{rel}:{line}: {name} is not one string literal (ansible-test yamllint and validate-modules"
                    " read it from the source)"
                )
            elif (problem := yaml_problem(value.value)) is not None:
                found.append(f"{rel}:{line}: {name} is not YAML (ansible-test yamllint): {problem}")
    return found


def check_plugin_yaml(root: Path) -> list[str]:
    """Filter and test plugins document themselves in ``.yml`` files beside the code."""
    found = []
    for rel in shipped_files(root, ".yml"):
        if rel.parts[0] == "plugins" and (problem := yaml_problem((root / rel).read_text())) is not None:
            found.append(f"{rel}: not YAML (ansible-test yamllint): {problem}")
    return found


def ruff(root: Path, files: list[Path]) -> int:
    """ruff with the pylint-mirroring rules on the shipped files; its own output, its exit status."""
    command = [str(Path(sys.executable).parent / "ruff"), "check", "--quiet", "--extend-select", ",".join(RUFF_RULES)]
    return subprocess.run([*command, *map(str, files)], cwd=root, check=False).returncode


def main(argv: list[str]) -> int:
    """``[--list] [ROOT]``: check the collection at ROOT (this checkout), or only list its shipped Python."""
    paths = [arg for arg in argv if not arg.startswith("--")]
    root = Path(paths[0]).resolve() if paths else ROOT
    files = shipped_files(root)
    if "--list" in argv:
        print("\n".join(map(str, files)))
        return 0
    found = [finding for rel in files for finding in check_source(root, rel)] + check_plugin_yaml(root)
    for line in found:
        print(line, file=sys.stderr)
    status = ruff(root, files)
    return 1 if found or status else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
