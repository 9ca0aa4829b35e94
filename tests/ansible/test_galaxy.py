"""How users get the collection: ``ansible-galaxy collection build`` + ``install``, then the playbooks by FQCN."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tarfile

import yaml
from conftest import BIN, REPO, VENV, run, tarball_names

from choria_emulator.testing.localnet import Emulator

# What the artifact holds (galaxy.yml build_ignore keeps everything else out).
TOP_LEVEL = {
    "MANIFEST.json", "FILES.json", "LICENSE", "README.md", "requirements.txt", "bindep.txt", ".ansible-lint",
    "changelogs", "docs", "emulator", "meta", "playbooks", "plugins", "roles", "tests",
}  # fmt: skip
UNDER = {"docs": {"ansible"}, "tests": {"config.yml", "sanity"}, "emulator": {"pyproject.toml", "README.md", "src"}}


def test_the_tarball_holds_the_collection_content_only(collection_tarball):
    names = tarball_names(collection_tarball)
    top = {n.split("/", 1)[0] for n in names}
    assert top == TOP_LEVEL, (
        f"unexpected in the artifact: {sorted(top - TOP_LEVEL)}, missing: {sorted(TOP_LEVEL - top)}; "
        "development material goes into galaxy.yml build_ignore, collection content into TOP_LEVEL here"
    )
    for folder, allowed in UNDER.items():
        found = {n.split("/")[1] for n in names if n.startswith(folder + "/") and n.count("/") >= 1} - {""}
        assert found == allowed, f"{folder}/ holds {sorted(found)}; only {sorted(allowed)} belong in the artifact"
    assert {n.split("/")[2] for n in names if n.startswith("emulator/src/") and n.count("/") >= 2} - {""} == {
        "choria_emulator"
    }
    for needed in (
        "meta/runtime.yml",
        "meta/execution-environment.yml",
        "changelogs/changelog.yaml",
        "emulator/src/choria_emulator/__init__.py",
        "playbooks/start-emulator.yml",
        "playbooks/start_emulator.yml",
        "playbooks/setup_prereqs.yml",
        "roles/setup_prereqs/files/build_emulator_wheel.py",
        "plugins/modules/emulator.py",
        "plugins/module_utils/processes.py",
        "plugins/doc_fragments/connection.py",
        "docs/ansible/execution-environment.yml",
        "docs/ansible/awx/job_templates.yml",
        "tests/config.yml",
        *(f"roles/{role.name}/README.md" for role in (REPO / "roles").iterdir() if role.is_dir()),
        *(f"tests/sanity/ignore-{line}.txt" for line in ("2.16", "2.17", "2.18", "2.19")),
    ):
        assert needed in names, needed
    assert not any("__pycache__" in n or n.endswith((".pyc", ".egg-info")) for n in names)
    with tarfile.open(collection_tarball) as archive:
        license_text = archive.extractfile("LICENSE").read().decode()
    assert "Apache License" in license_text and "END OF TERMS AND CONDITIONS" in license_text


def test_make_lint_checks_the_python_the_tarball_ships(collection_tarball):
    """scripts/check_shipped_python.py (make lint) reads galaxy.yml's build_ignore as ansible-galaxy does."""
    listed = subprocess.run(
        [sys.executable, REPO / "scripts" / "check_shipped_python.py", "--list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    shipped = sorted(n for n in tarball_names(collection_tarball) if n.endswith(".py"))
    assert "plugins/modules/emulator.py" in shipped and "emulator/src/choria_emulator/__init__.py" in shipped
    assert listed == shipped


def test_the_artifacts_markdown_links_resolve(collection_tarball):
    """A relative link in a shipped .md file names a file the artifact holds (docs outside docs/ansible/ do
    not ship: those are links to the repository, and the path they name exists in this checkout)."""
    repository = yaml.safe_load((REPO / "galaxy.yml").read_text())["repository"]
    names = tarball_names(collection_tarball)
    broken = []
    with tarfile.open(collection_tarball) as archive:
        for name in sorted(n for n in names if n.endswith(".md")):
            text = archive.extractfile(name).read().decode()
            for target in re.findall(r"\]\(([^)\s]+)\)", text):
                target = target.replace("\\", "").split("#", 1)[0]
                if target.startswith(f"{repository}/"):
                    path = re.sub(r"^(blob|tree)/main/", "", target[len(repository) + 1 :])
                    if not (REPO / path).exists():
                        broken.append(f"{name}: {target}")
                elif target and not re.match(r"[a-z]+:", target):
                    path = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
                    if path not in names:
                        broken.append(f"{name}: {target} ({path} is not in the artifact)")
    assert not broken, "\n".join(broken)


def test_start_and_stop_by_fqcn_from_the_installed_collection(outside, run_dir):
    """Started under a name of its own, the emulator is stopped by stop_emulator without one: what the
    start recorded in run_dir (issue 14: stop remembers)."""
    common = ["-e", f"venv={VENV}", "-e", f"run_dir={run_dir}"]
    started = run(
        [
            "ansible-playbook",
            "chorialab.choria.start_nats",
            "-e",
            "port=-1",
            "-e",
            "monitor=-1",
            "-e",
            "bind=127.0.0.1",
            *common,
        ],
        **outside,
    )
    match = re.search(r"on nats://127\.0\.0\.1:(\d+) \(monitor http://127\.0\.0\.1:\d+\)", started.stdout)
    assert match, started.stdout
    port = int(match.group(1))
    start_emulator = ["ansible-playbook", "chorialab.choria.start_emulator", "-e", "instances=40", "-e", "agents=3"]
    start_emulator += ["-e", f"servers=127.0.0.1:{port}", "-e", "monitor=0", "-e", "emulator_name=custom", *common]
    try:
        out = run(
            start_emulator,
            **outside,
        ).stdout
        assert '"msg": "1 host x 40 instances = 40 nodes on 1 broker"' in out
        assert "40/40 instances (3 agents, 1 collective)" in out
        ping = run(["choria-emulator", "ping", "--server", f"127.0.0.1:{port}", "--expect", "40", "--quiet"], **outside)
        assert re.search(r"^40 replies", ping.stdout, re.M)
        again = run(
            start_emulator,
            **outside,
        ).stdout
        assert re.search(r"localhost\s+: ok=\d+\s+changed=0\s", again), again
    finally:
        stopped = run(["ansible-playbook", "chorialab.choria.stop_emulator", *common], **outside)
        run(["ansible-playbook", "chorialab.choria.stop_nats", "-e", "port=-1", *common], **outside)
    assert re.search(r"localhost\s+: ok=\d+\s+changed=1\s", stopped.stdout)
    assert "Make sure emulator every recorded emulator is stopped" in stopped.stdout
    assert not list(run_dir.glob("emulator-*.state.json"))  # and the run_dir fixture finds nothing running


def test_setup_prereqs_from_the_installed_collection_then_the_demo_playbook(outside, run_dir, tmp_path):
    """The user's first run: a venv from the installed collection's emulator/ and a nats-server release
    archive given by the seed's gnatsd_url (file:// here) with its checksum; then demo.yml in that venv."""
    release = tmp_path / "nats-server-v0.0.0-linux-amd64"
    release.mkdir()
    archive = tmp_path / "nats-server-v0.0.0-linux-amd64.tar.gz"
    with tarfile.open(archive, "w:gz") as out:
        out.add(VENV / "bin" / "nats-server", arcname="nats-server-v0.0.0-linux-amd64/nats-server")
    checksum = hashlib.sha256(archive.read_bytes()).hexdigest()
    venv = tmp_path / "venv"
    setup = [
        "ansible-playbook",
        "chorialab.choria.setup_prereqs",
        "-e",
        f"venv={venv}",
        "-e",
        f"gnatsd_url=file://{archive}",
        "-e",
        f"gnatsd_checksum=sha256:{checksum}",
        "-e",
        f"setup_prereqs_wheel_cache={tmp_path / 'wheels'}",
        "-e",
        "choria_url=https://example.invalid/choria",
    ]
    out = run(setup, **outside).stdout
    assert "choria_url is ignored" in out
    assert re.search(r"choria-emulator \d+\.\d+\.\d+, nats-server: v\d", out)
    assert (venv / "bin" / "nats-server").read_bytes() == (VENV / "bin" / "nats-server").read_bytes()
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0\s", run(setup, **outside).stdout), (
        "setup-prereqs is not idempotent"
    )

    wrong = run(
        [
            "ansible-playbook",
            "chorialab.choria.setup_prereqs",
            "-e",
            f"venv={tmp_path / 'venv2'}",
            "-e",
            "setup_prereqs_install_emulator=false",
            "-e",
            f"gnatsd_url=file://{archive}",
            "-e",
            f"gnatsd_checksum=sha256:{'0' * 64}",
        ],
        check=False,
        **outside,
    )
    assert wrong.returncode != 0 and "did not match" in wrong.stdout, wrong.stdout
    assert not (tmp_path / "venv2" / "bin" / "nats-server").exists()

    demo = run(
        [
            "ansible-playbook",
            "chorialab.choria.demo",
            "-e",
            f"venv={venv}",
            "-e",
            "instances=60",
            "-e",
            "requests=2",
            "-e",
            "port=-1",
            "-e",
            "monitor=-1",
            "-e",
            f"run_dir={run_dir}",
            "-e",
            f"setup_prereqs_wheel_cache={tmp_path / 'wheels'}",
        ],
        **outside,
    ).stdout
    assert "60 replies" in demo
    assert demo.count("60 OK, 0 failed") == 2, demo


def requirement_names(lines) -> dict:
    """``{normalised name: specifier}`` of requirement lines (comments and blanks skipped)."""
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            match = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", line)
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2).replace(" ", "")
    return found


def test_requirements_txt_is_the_emulator_packages_dependencies():
    """requirements.txt (for the controller and ansible-builder) and the package's own list never drift."""
    package = [r for r in importlib.metadata.requires("choria-emulator") if "extra ==" not in r]  # pyproject's list
    assert requirement_names((REPO / "requirements.txt").read_text().splitlines()) == requirement_names(package)


def fresh_venv(path, *pip_args) -> dict:
    """A venv with only ``pip install pip_args``; returns an environment with its bin/ first on PATH."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    env = {"PATH": os.pathsep.join([str(path / "bin"), str(BIN), os.environ["PATH"]])}
    if not pip_args:
        return env
    install = subprocess.run(
        [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pip_args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return env


def test_controller_plugins_run_with_only_requirements_txt_installed(installed_collections, broker, tmp_path):
    """`pip install -r <installed collection>/requirements.txt` from another directory is all the
    controller needs: the discover action finds emulated nodes over a real broker with the library
    from the installed collection, the package itself not being installed in that Python."""
    requirements = installed_collections / "ansible_collections" / "chorialab" / "choria" / "requirements.txt"
    core = importlib.metadata.version("ansible-core")
    env = fresh_venv(tmp_path / "controller", f"ansible-core=={core}", "-r", requirements)
    python = tmp_path / "controller" / "bin" / "python"
    missing = subprocess.run([str(python), "-c", "import choria_emulator"], capture_output=True, check=False)
    assert missing.returncode != 0, "choria_emulator must not be installed in this venv"

    emulator = Emulator.start(broker.url, 6, "--agents", "1", name="ctl", workdir=tmp_path / "emu")
    try:
        proc = subprocess.run(
            [
                str(tmp_path / "controller" / "bin" / "ansible"),
                "localhost",
                "-c",
                "local",
                "-m",
                "chorialab.choria.discover",
                "-a",
                f"servers={broker.url} identities=/^ctl-/",
            ],
            cwd=tmp_path,
            env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed_collections), ANSIBLE_NOCOLOR="1", **env),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        emulator.stop()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '"count": 6' in proc.stdout, proc.stdout


def test_the_documented_controller_install_command(installed_collections, tmp_path):
    """The command of getting-started.md, run as it is: the package and the choria-emulator CLI from the
    installed collection, wherever that is."""
    doc = (REPO / "docs" / "ansible" / "getting-started.md").read_text()
    block = doc.split("<!-- tests/ansible/test_galaxy.py runs this block as it is -->\n```bash\n", 1)[1]
    command = block.split("```", 1)[0]
    env = fresh_venv(tmp_path / "controller")
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command],
        cwd=tmp_path,
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed_collections), **env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    version = subprocess.run(
        [str(tmp_path / "controller" / "bin" / "choria-emulator"), "--version"], capture_output=True, text=True
    )
    assert version.returncode == 0 and re.search(r"\d+\.\d+\.\d+", version.stdout + version.stderr), version


def test_antsibull_changelog_releases_0_2_0_in_a_copy(tmp_path):
    """The release step of a publisher: the fragments become version 0.2.0 of changelog.yaml and
    CHANGELOG.md (in a copy, so the checkout keeps its fragments). Plugins and roles say version_added
    0.1.0, so 0.2.0 lists none as new."""
    root = tmp_path / "ansible_collections" / "chorialab" / "choria"
    root.mkdir(parents=True)
    shutil.copy(REPO / "galaxy.yml", root)
    for folder in ("changelogs", "meta", "plugins", "roles"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    fragments = sorted(p.name for p in (root / "changelogs" / "fragments").glob("*.yml"))
    assert fragments
    run(["antsibull-changelog", "release", "--version", "0.2.0", "--date", "2026-12-04"], cwd=root)
    changelog = yaml.safe_load((root / "changelogs" / "changelog.yaml").read_text())
    release = changelog["releases"]["0.2.0"]
    assert release["release_date"] == "2026-12-04"
    assert sorted(release["fragments"]) == fragments
    assert release["changes"], release
    sections = set()
    for name in fragments:
        sections |= set(yaml.safe_load((REPO / "changelogs" / "fragments" / name).read_text())) - {"trivial"}
    assert set(release["changes"]) == sections
    assert not list((root / "changelogs" / "fragments").glob("*.yml")), "released fragments are removed"
    text = (root / "CHANGELOG.md").read_text()
    assert '<a id="v0-2-0"></a>' in text or "v0\\.2\\.0" in text, text[:500]
    assert "## Minor Changes" in text or "### Minor Changes" in text, text[:1500]
    run(["antsibull-changelog", "lint-changelog-yaml", root / "changelogs" / "changelog.yaml"], cwd=root)
