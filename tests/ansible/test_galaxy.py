"""How users get the collection: ``ansible-galaxy collection build`` + ``install``, then the playbooks by FQCN."""

from __future__ import annotations

import hashlib
import re
import tarfile

from conftest import VENV, run, tarball_names


def test_the_tarball_keeps_what_users_and_ansible_builder_need(collection_tarball):
    names = tarball_names(collection_tarball)
    for needed in (
        "MANIFEST.json",
        "meta/runtime.yml",
        "meta/execution-environment.yml",
        "requirements.txt",
        "changelogs/changelog.yaml",
        "emulator/pyproject.toml",
        "emulator/src/choria_emulator/__init__.py",
        "playbooks/start-emulator.yml",
        "playbooks/start_emulator.yml",
        "playbooks/setup_prereqs.yml",
        "roles/setup_prereqs/files/build_emulator_wheel.py",
        "roles/emulator/meta/argument_specs.yml",
        "plugins/modules/emulator.py",
        "plugins/module_utils/processes.py",
        "plugins/doc_fragments/connection.py",
    ):
        assert needed in names, needed
    for unwanted in (".venv", "playbooks/collections", "tests/output", ".cache", ".git"):
        assert not any(n == unwanted or n.startswith(unwanted + "/") for n in names), unwanted
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_start_and_stop_by_fqcn_from_the_installed_collection(outside, run_dir):
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
    try:
        out = run(
            [
                "ansible-playbook",
                "chorialab.choria.start_emulator",
                "-e",
                "instances=40",
                "-e",
                "agents=3",
                "-e",
                f"servers=127.0.0.1:{port}",
                "-e",
                "monitor=0",
                *common,
            ],
            **outside,
        ).stdout
        assert '"msg": "1 host x 40 instances = 40 nodes on 1 broker"' in out
        assert "40/40 instances (3 agents, 1 collective)" in out
        ping = run(["choria-emulator", "ping", "--server", f"127.0.0.1:{port}", "--expect", "40", "--quiet"], **outside)
        assert re.search(r"^40 replies", ping.stdout, re.M)
        again = run(
            [
                "ansible-playbook",
                "chorialab.choria.start_emulator",
                "-e",
                "instances=40",
                "-e",
                "agents=3",
                "-e",
                f"servers=127.0.0.1:{port}",
                "-e",
                "monitor=0",
                *common,
            ],
            **outside,
        ).stdout
        assert re.search(r"localhost\s+: ok=\d+\s+changed=0\s", again), again
    finally:
        stopped = run(["ansible-playbook", "chorialab.choria.stop_emulator", *common], **outside)
        run(["ansible-playbook", "chorialab.choria.stop_nats", "-e", "port=-1", *common], **outside)
    assert re.search(r"localhost\s+: ok=\d+\s+changed=1\s", stopped.stdout)


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
