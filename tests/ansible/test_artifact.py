"""The built artifact as Galaxy sees it: galaxy-importer, then ``ansible-test sanity`` on the installed
collection for every ansible-core line in ``requires_ansible``, ``ansible-doc`` for every plugin, and
``ansible-lint --profile production`` on the checkout with the collection installed from the artifact.

The tools run from cached venvs outside the checkout (tool_venvs.py); ansible-test keeps its own
sanity venvs under ~/.ansible/test. ``make test-galaxy-artifact`` runs this module.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from tool_venvs import ANSIBLE_CORE, ansible_core_venv, galaxy_importer_venv

# Building a tool venv, or ansible-test's own sanity venvs, the first time takes minutes.
pytestmark = pytest.mark.timeout(1800)

PLUGIN_TYPES = ("module", "inventory", "lookup", "filter", "test")
PYTHON = "{}.{}".format(*sys.version_info[:2])


def tool(venv: Path, command: list, cwd: Path, env: dict | None = None, timeout: float = 1200):
    """Run ``command[0]`` from ``venv`` (its bin/ first on PATH); returns the CompletedProcess."""
    path = os.pathsep.join([str(venv / "bin"), os.environ.get("PATH", "")])
    return subprocess.run(
        [str(venv / "bin" / command[0]), *map(str, command[1:])],
        cwd=cwd,
        env=dict(os.environ, PATH=path, ANSIBLE_NOCOLOR="1", NO_COLOR="1", **(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


def installed_root(installed_collections: Path) -> Path:
    return installed_collections / "ansible_collections" / "chorialab" / "choria"


def test_requires_ansible_names_the_tested_lines():
    """Every ansible-core line the tier tests is one requires_ansible accepts, starting at its lower bound,
    and the README's compatibility section names exactly these lines."""
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    specifier = runtime["requires_ansible"]
    lines = sorted(ANSIBLE_CORE, key=lambda v: tuple(map(int, v.split("."))))
    lower = re.match(r">=\s*(\d+\.\d+)\.0(?:,|$)", specifier)
    assert lower, specifier
    assert lines[0] == lower.group(1)
    for upper in re.findall(r"<\s*(\d+\.\d+)", specifier):  # a cap, if one is ever set, is above every tested line
        assert tuple(map(int, upper.split("."))) > tuple(map(int, lines[-1].split("."))), specifier
    readme = (REPO / "README.md").read_text()
    assert f"Tested with ansible-core {', '.join(lines[:-1])} and {lines[-1]}:" in readme
    assert f'`requires_ansible: "{specifier}"`' in readme


def test_galaxy_importer_accepts_the_tarball(collection_tarball, tmp_path):
    """galaxy-importer offline (no container for ansible-test), with ansible-lint on as Galaxy runs it."""
    config = tmp_path / "galaxy-importer.cfg"
    config.write_text(
        "[galaxy-importer]\n"
        "run_ansible_test = False\n"
        "run_ansible_lint = True\n"
        "offline_ansible_lint = True\n"
        "run_ansible_doc = True\n"
        "check_changelog = True\n"
        f"ansible_local_tmp = {tmp_path / 'ansible-tmp'}\n"
    )
    venv = galaxy_importer_venv()
    proc = tool(
        venv,
        ["python", "-m", "galaxy_importer.main", collection_tarball],
        cwd=tmp_path,
        env={"GALAXY_IMPORTER_CONFIG": str(config)},
    )
    out = proc.stdout
    assert proc.returncode == 0 and "Importer processing completed successfully" in out, out
    assert "ERROR" not in out, out
    lint = out.split("Linting collection via ansible-lint", 1)[1].split("...ansible-lint run complete", 1)[0]
    findings = [line for line in lint.splitlines() if line.startswith("WARNING")]
    assert not findings, "ansible-lint findings in Galaxy's import:\n" + "\n".join(findings)


@pytest.mark.parametrize("line", sorted(ANSIBLE_CORE))
def test_ansible_test_sanity_on_the_installed_artifact(line, installed_collections):
    """Every sanity test of that ansible-core release; ignores only from the artifact's tests/sanity/."""
    venv = ansible_core_venv(line)
    root = installed_root(installed_collections)
    shim = tool(venv, ["python", REPO / "tests" / "ansible" / "install_get_pip_shim.py"], cwd=root)
    assert shim.returncode == 0, shim.stdout
    # --requirements installs into the cached venv: one run at a time per venv
    with open(f"{venv}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = tool(
            venv, ["ansible-test", "sanity", "--local", "--python", PYTHON, "--requirements", "--color", "no"], cwd=root
        )
    errors = [line for line in proc.stdout.splitlines() if line.startswith(("ERROR", "FATAL"))]
    assert proc.returncode == 0, f"ansible-test sanity on ansible-core {ANSIBLE_CORE[line]}:\n" + "\n".join(errors)
    assert re.search(r"Running sanity test \"validate-modules\"", proc.stdout), proc.stdout[-3000:]


# What scripts/check_shipped_python.py (make lint) stands in for, planted in a copy of the installed artifact:
# names pylint refuses, a Protocol stub on one line (pep8 E704 up to 2.18), subprocess.run without check.
LINT_SAMPLE = """\
from __future__ import annotations

import subprocess
from typing import Protocol


class Reader(Protocol):
    def read(self) -> bytes: ...


def pairs(items):
    out = []
    for _ in items:
        out.append(1)
    first, _ = 1, 2
    foo = first
    return out, foo


def run():
    return subprocess.run(["true"])
"""
# A documentation string that is not one literal: ansible-test's yamllint cannot read it.
FRAGMENT_SAMPLE = '''\
from __future__ import annotations


class ModuleDocFragment:
    FILES = r"""
  path:
    type: path
"""
    DOCUMENTATION = r"""
options:
""" + FILES
'''


def test_make_lint_flags_what_ansible_test_sanity_flags(installed_collections, tmp_path):
    """The lint tier's stand-in for the sanity test, held to ansible-core 2.16's pep8, pylint and yamllint."""
    sys.path.insert(0, str(REPO / "scripts"))
    import check_shipped_python as shipped

    root = tmp_path / "ansible_collections" / "chorialab" / "choria"
    shutil.copytree(installed_root(installed_collections), root)
    sample = Path("emulator/src/choria_emulator/lint_sample.py")
    fragment = Path("plugins/doc_fragments/lint_sample.py")
    (root / sample).write_text(LINT_SAMPLE)
    (root / fragment).write_text(FRAGMENT_SAMPLE)

    venv = ansible_core_venv(min(ANSIBLE_CORE))
    sanity = ["ansible-test", "sanity", "--local", "--python", PYTHON, "--requirements", "--color", "no"]
    with open(f"{venv}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = tool(venv, [*sanity, "--test", "pep8", "--test", "pylint", sample], cwd=root)
        yamllint = tool(venv, [*sanity, "--test", "yamllint", fragment], cwd=root)
    reported = re.findall(rf"^ERROR: {re.escape(str(sample))}:(\d+):\d+: (\S+):", proc.stdout, flags=re.M)
    assert reported, proc.stdout[-3000:]
    by_test: dict[str, set[int]] = {}
    for line, code in reported:
        by_test.setdefault(code, set()).add(int(line))

    findings = shipped.check_source(root, sample)
    lines = {kind: {int(f.split(":")[1]) for f in findings if kind in f} for kind in ("disallowed-name", "E704")}
    assert lines["disallowed-name"] == by_test.pop("disallowed-name"), (findings, proc.stdout[-3000:])
    assert lines["E704"] == by_test.pop("E704"), (findings, proc.stdout[-3000:])
    ruff = subprocess.run(
        [str(Path(sys.executable).parent / "ruff"), "check", "--isolated", "--output-format", "concise",
         "--select", ",".join(shipped.RUFF_RULES), root / sample],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    ruff_lines = {int(m) for m in re.findall(r"lint_sample\.py:(\d+):\d+: PLW1510", ruff.stdout)}
    assert ruff_lines == by_test.pop("subprocess-run-check"), (ruff.stdout, proc.stdout[-3000:])
    assert not by_test, f"ansible-test reported what make lint does not check: {by_test}"

    assert yamllint.returncode != 0, yamllint.stdout[-3000:]
    assert any("not one string literal" in f for f in shipped.check_source(root, fragment))


def documented_plugins(root: Path, kind: str) -> list[str]:
    """FQCNs of the plugins of ``kind`` (filters and tests: one documentation file per name, beside the code)."""
    folder = root / "plugins" / ("modules" if kind == "module" else kind)
    files = folder.glob("*.yml") if kind in ("filter", "test") else folder.glob("*.py")
    return sorted(f"chorialab.choria.{p.stem}" for p in files if not p.stem.startswith("_"))


@pytest.mark.parametrize("line", sorted(ANSIBLE_CORE))
def test_ansible_doc_renders_every_plugin_with_examples(line, installed_collections):
    venv = ansible_core_venv(line)
    root = installed_root(installed_collections)
    env = {"ANSIBLE_COLLECTIONS_PATH": str(installed_collections)}
    kinds = [k for k in PLUGIN_TYPES if documented_plugins(root, k)]
    assert {"module", "inventory", "lookup"} <= set(kinds)
    for kind in kinds:
        names = documented_plugins(root, kind)
        proc = tool(venv, ["ansible-doc", "-t", kind, *names], cwd=root, env=env, timeout=300)
        assert proc.returncode == 0 and "ERROR" not in proc.stdout, proc.stdout[-3000:]
        sections = re.split(r"^> ", proc.stdout, flags=re.M)[1:]
        assert len(sections) == len(names), proc.stdout[:3000]
        for name, text in zip(names, sections):
            assert name.upper() in text.upper().split("\n", 1)[0], text[:200]
            examples = text.split("\nEXAMPLES:", 1)
            body = re.split(r"^[A-Z][A-Z ]+:", examples[-1], maxsplit=1, flags=re.M)[0] if len(examples) == 2 else ""
            assert "- name:" in body or "ansible.builtin" in body or "plugin:" in body, (
                f"{kind} {name} renders no examples on ansible-core {ANSIBLE_CORE[line]}:\n{text[-1500:]}"
            )


def test_ansible_lint_production_on_the_checkout(installed_collections):
    """The .ansible-lint of the checkout (non-Ansible YAML excluded); the collection comes from the artifact."""
    proc = tool(
        galaxy_importer_venv(),
        ["ansible-lint", "--profile", "production", "-f", "pep8", "--nocolor"],
        cwd=REPO,
        env={"ANSIBLE_COLLECTIONS_PATH": str(installed_collections)},
    )
    assert proc.returncode == 0, f"ansible-lint --profile production:\n{proc.stdout[-6000:]}"
    assert re.search(r"Passed: 0 failure\(s\), 0 warning\(s\) in \d+ files", proc.stdout), proc.stdout[-2000:]
