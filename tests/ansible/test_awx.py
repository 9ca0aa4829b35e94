"""AWX and execution environments: ansible-builder's build context, and jobs run as AWX runs them (ansible-runner)."""

from __future__ import annotations

import json
import re
import shutil

import yaml
from conftest import BIN, REPO, VENV, run


def test_ansible_builder_context_installs_the_emulator_package(collection_tarball, tmp_path):
    """``ansible-builder create`` on docs/ansible/execution-environment.yml, then the context's own galaxy and
    introspection steps, run here instead of in the container: they must ask for the emulator package and
    that package must build from the collection they installed."""
    definition = tmp_path / "execution-environment.yml"
    shutil.copy(REPO / "docs" / "ansible" / "execution-environment.yml", definition)
    shutil.copy(collection_tarball, tmp_path)  # the doc says: put the tarball next to the definition
    context = tmp_path / "context"
    run(["ansible-builder", "create", "-f", definition, "-c", context], cwd=tmp_path)
    containerfile = next(p for p in (context / "Containerfile", context / "Dockerfile") if p.exists()).read_text()
    assert "ansible-galaxy collection install" in containerfile and "introspect.py introspect" in containerfile
    build = context / "_build"
    assert (build / "collections" / collection_tarball.name).exists()

    # galaxy stage: WORKDIR /build, install into what the image calls /usr/share/ansible/collections
    share = tmp_path / "usr-share-ansible" / "collections"
    run(["ansible-galaxy", "collection", "install", "-r", "requirements.yml", "--collections-path", share], cwd=build)
    installed = share / "ansible_collections" / "chorialab" / "choria"
    assert (installed / "meta" / "execution-environment.yml").exists()

    # builder stage: the context's introspect.py lists the Python requirements of every collection
    requirements = tmp_path / "requirements.txt"
    run(["python", build / "scripts" / "introspect.py", "introspect", share, "--write-pip", requirements], cwd=tmp_path)
    lines = [line for line in requirements.read_text().splitlines() if line.strip()]
    emulator_line = (
        "choria-emulator @ file:///usr/share/ansible/collections/ansible_collections/chorialab/choria/emulator"
    )
    assert f"{emulator_line}  # from collection chorialab.choria" in lines

    # assemble builds a wheel of each requirement; the path is the image's, the files are the same here
    wheels = tmp_path / "wheels"
    local = str(installed / "emulator")
    run(["python", "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", wheels, local], cwd=tmp_path)
    assert len(list(wheels.glob("choria_emulator-*.whl"))) == 1


def job(data_dir, playbook: str, ident: str) -> tuple:
    """``ansible-runner run`` as AWX runs a job; returns (status, rc, events, stdout) from the artifacts."""
    proc = run(["ansible-runner", "run", data_dir, "-p", playbook, "--ident", ident], cwd=data_dir, check=False)
    artifacts = data_dir / "artifacts" / ident
    events = [
        json.loads(p.read_text())
        for p in sorted((artifacts / "job_events").glob("*.json"), key=lambda p: int(p.name.split("-", 1)[0]))
    ]
    status = (artifacts / "status").read_text().strip()
    rc = int((artifacts / "rc").read_text().strip())
    assert proc.returncode == rc
    return status, rc, events, (artifacts / "stdout").read_text()


def test_start_and_stop_emulator_as_awx_job_templates(installed_collections, broker, run_dir, tmp_path):
    """A private data dir as AWX lays it out: the project's playbooks import the collection's, the
    survey answers are the extra vars, the inventory is localhost."""
    data = tmp_path / "job"
    (data / "project").mkdir(parents=True)
    (data / "inventory").mkdir()
    (data / "env").mkdir()
    for name in ("start_emulator", "stop_emulator"):
        (data / "project" / f"{name}.yml").write_text(
            f"---\n- name: {name}\n  ansible.builtin.import_playbook: chorialab.choria.{name}\n"
        )
    (data / "inventory" / "hosts.yml").write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        "emulator1": {"ansible_connection": "local", "ansible_python_interpreter": str(BIN / "python")}
                    }
                }
            }
        )
    )
    survey = {
        "instances": 30,
        "agents": 2,
        "collectives": 2,
        "servers": broker.url,
        "monitor": 0,
        "tls": False,
        "venv": str(VENV),
        "run_dir": str(run_dir),
    }
    (data / "env" / "extravars").write_text(yaml.safe_dump(survey))
    (data / "env" / "envvars").write_text(
        yaml.safe_dump({"ANSIBLE_COLLECTIONS_PATH": str(installed_collections), "ANSIBLE_NOCOLOR": "1"})
    )
    (data / "env" / "settings").write_text(yaml.safe_dump({"job_timeout": 300}))

    status, rc, events, stdout = job(data, "start_emulator.yml", "start")
    assert (status, rc) == ("successful", 0), stdout
    started = [
        e
        for e in events
        if e["event"] == "runner_on_ok" and e["event_data"].get("resolved_action") == "chorialab.choria.emulator"
    ]
    assert len(started) == 1
    result = started[0]["event_data"]["res"]
    assert result["changed"] and result["connected"] == 30 and result["agents"] == 2 and result["collectives"] == 2
    assert started[0]["event_data"]["host"] == "emulator1"
    stats = next(e for e in events if e["event"] == "playbook_on_stats")["event_data"]
    assert stats["changed"] == {"emulator1": 1} and not stats["failures"]
    assert '"msg": "1 host x 30 instances = 30 nodes on 1 broker"' in stdout
    ping = run(["choria-emulator", "ping", "--server", broker.url, "--expect", "30", "--quiet"], cwd=tmp_path)
    assert re.search(r"^30 replies", ping.stdout, re.M)

    status, rc, events, stdout = job(data, "stop_emulator.yml", "stop")
    assert (status, rc) == ("successful", 0), stdout
    stopped = [
        e
        for e in events
        if e["event"] == "runner_on_ok" and e["event_data"].get("resolved_action") == "chorialab.choria.emulator"
    ]
    assert len(stopped) == 1 and stopped[0]["event_data"]["res"]["stopped"] == "exited"
    assert broker.varz()["connections"] == 0

    # a survey answer of the wrong type fails the job with the field named, as AWX would show it
    (data / "env" / "extravars").write_text(yaml.safe_dump(dict(survey, instances="lots")))
    status, rc, events, stdout = job(data, "start_emulator.yml", "bad-survey")
    assert status == "failed" and rc != 0
    failed = [e for e in events if e["event"] == "runner_on_failed"]
    assert failed and failed[0]["event_data"]["res"]["msg"].startswith("instances must be a whole number above 0")
    assert failed[0]["event_data"]["res"]["msg"].endswith('got "lots"')
