"""AWX and execution environments: ansible-builder's build context, and jobs run as AWX runs them (ansible-runner)."""

from __future__ import annotations

import json
import re
import shutil

import awx_survey
import pytest
import yaml
from conftest import BIN, REPO, VENV, run


def test_ansible_builder_context_installs_the_collection_and_what_it_declares(collection_tarball, tmp_path):
    """``ansible-builder create`` on docs/ansible/execution-environment.yml, then the context's own galaxy and
    introspection steps and its last build step, run here instead of in the container: the image gets the
    collection, its requirements.txt and bindep.txt, and the choria-emulator package from the installed collection."""
    definition = yaml.safe_load((REPO / "docs" / "ansible" / "execution-environment.yml").read_text())
    base = definition["images"]["base_image"]["name"]
    assert "@sha256:" in base or re.search(r":[\w.-]+$", base.rsplit("/", 1)[-1]), f"base image not pinned: {base}"
    assert not base.endswith(":latest"), f"base image not pinned: {base}"

    shutil.copy(REPO / "docs" / "ansible" / "execution-environment.yml", tmp_path)
    shutil.copy(collection_tarball, tmp_path)  # the doc says: put the tarball next to the definition
    context = tmp_path / "context"
    run(["ansible-builder", "create", "-f", tmp_path / "execution-environment.yml", "-c", context], cwd=tmp_path)
    containerfile = next(p for p in (context / "Containerfile", context / "Dockerfile") if p.exists()).read_text()
    assert f'ARG EE_BASE_IMAGE="{base}"' in containerfile
    assert "ansible-galaxy collection install" in containerfile and "introspect.py introspect" in containerfile
    installed_path = "/usr/share/ansible/collections/ansible_collections/chorialab/choria"
    assert f"RUN $PYCMD -m pip install --no-cache-dir {installed_path}/emulator" in containerfile
    build = context / "_build"
    assert (build / "collections" / collection_tarball.name).exists()

    # galaxy stage: WORKDIR /build, install into what the image calls /usr/share/ansible/collections
    share = tmp_path / "usr-share-ansible" / "collections"
    run(["ansible-galaxy", "collection", "install", "-r", "requirements.yml", "--collections-path", share], cwd=build)
    installed = share / "ansible_collections" / "chorialab" / "choria"
    assert (installed / "meta" / "execution-environment.yml").exists()

    # builder stage: introspect.py lists the Python and system requirements of every collection
    requirements, bindep = tmp_path / "requirements.txt", tmp_path / "bindep.txt"
    run(
        ["python", build / "scripts" / "introspect.py", "introspect", share]
        + ["--write-pip", requirements, "--write-bindep", bindep],
        cwd=tmp_path,
    )
    python = [line.split("  #")[0] for line in requirements.read_text().splitlines() if line.strip()]
    declared = [line for line in (REPO / "requirements.txt").read_text().splitlines() if line and line[0] != "#"]
    assert python and set(python) <= set(declared), python  # ansible-builder drops what ansible-core brings (PyYAML)
    assert {"nats-py>=2.6", "cryptography>=41", "google-re2>=1.1"} <= set(python)
    assert "openssh-clients [platform:rpm]  # from collection chorialab.choria" in bindep.read_text().splitlines()

    # the final stage's last step: the package builds from the collection the galaxy stage installed
    wheels = tmp_path / "wheels"
    run(
        ["python", "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", wheels, installed / "emulator"],
        cwd=tmp_path,
    )
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


JOB_TEMPLATES = REPO / "docs" / "ansible" / "awx" / "job_templates.yml"


def job_templates() -> dict:
    return {t["name"]: t for t in yaml.safe_load(JOB_TEMPLATES.read_text())["job_templates"]}


def test_job_templates_and_surveys_are_what_awx_accepts():
    """Every survey saves in AWX, every playbook is in the project, every survey variable is one the
    collection's playbook reads, and the module parameters are awx.awx.job_template's."""
    templates = job_templates()
    assert set(templates) == {"Setup prereqs", "Start NATS", "Start emulator", "Stop emulator", "Stop NATS"}
    job_template_options = {
        "name", "description", "job_type", "playbook", "become_enabled", "survey_enabled", "survey_spec",
    }  # fmt: skip
    for name, template in templates.items():
        assert set(template) <= job_template_options, name
        awx_survey.check_spec(template["survey_spec"])
        project = REPO / "docs" / "ansible" / "awx" / "project" / template["playbook"]
        imported = yaml.safe_load(project.read_text())[0]["ansible.builtin.import_playbook"]
        body = REPO / "playbooks" / (imported.rsplit(".", 1)[1].replace("_", "-") + ".yml")  # the FQCN's body
        playbook = body.read_text()
        for question in template["survey_spec"]["spec"]:
            assert re.search(rf"\b{question['variable']}\b", playbook), (name, question["variable"])


def test_awx_refuses_what_it_would_refuse():
    """The rules the other tests rely on do refuse: a bad spec, a wrong answer type, a missing answer."""
    survey = job_templates()["Start emulator"]["survey_spec"]
    with pytest.raises(awx_survey.SurveyError, match="instances"):
        awx_survey.extra_vars(survey, {"instances": "lots"})
    with pytest.raises(awx_survey.SurveyError, match="tls"):
        awx_survey.extra_vars(survey, {"tls": "maybe"})
    with pytest.raises(awx_survey.SurveyError, match="outside 1 to"):
        awx_survey.extra_vars(survey, {"instances": 0})
    broken = dict(survey, spec=[dict(survey["spec"][0], default="750")])
    with pytest.raises(awx_survey.SurveyError, match="not of type integer"):
        awx_survey.check_spec(broken)
    required = dict(survey, spec=[dict(survey["spec"][0], default="")])
    with pytest.raises(awx_survey.SurveyError, match="'instances' value missing"):
        awx_survey.extra_vars(required, {})


def test_start_and_stop_emulator_as_awx_job_templates(installed_collections, broker, run_dir, tmp_path):
    """A private data dir as AWX lays it out for the job templates of docs/ansible/awx/: the project's
    playbooks (import the collection's), the survey answers with AWX's defaults as extra vars, localhost."""
    templates = job_templates()
    data = tmp_path / "job"
    shutil.copytree(REPO / "docs" / "ansible" / "awx" / "project", data / "project")
    (data / "inventory").mkdir()
    (data / "env").mkdir()
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
    (data / "env" / "envvars").write_text(
        yaml.safe_dump({"ANSIBLE_COLLECTIONS_PATH": str(installed_collections), "ANSIBLE_NOCOLOR": "1"})
    )
    (data / "env" / "settings").write_text(yaml.safe_dump({"job_timeout": 300}))

    def launch(template: str, answers: dict, ident: str) -> tuple:
        """AWX's launch: survey answers checked and completed with defaults; run_dir is the job
        template's own extra var here (the test's PID files), not a survey question."""
        spec = templates[template]["survey_spec"]
        extra = dict(awx_survey.extra_vars(spec, answers), run_dir=str(run_dir))
        (data / "env" / "extravars").write_text(yaml.safe_dump(extra))
        return job(data, templates[template]["playbook"], ident)

    answers = {"instances": 30, "agents": 2, "collectives": 2, "servers": broker.url, "monitor": 0, "venv": str(VENV)}
    status, rc, events, stdout = launch("Start emulator", answers, "start")
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

    status, rc, events, stdout = launch("Stop emulator", {}, "stop")
    assert (status, rc) == ("successful", 0), stdout
    stopped = [
        e
        for e in events
        if e["event"] == "runner_on_ok" and e["event_data"].get("resolved_action") == "chorialab.choria.emulator"
    ]
    assert len(stopped) == 1 and stopped[0]["event_data"]["res"]["stopped"] == "exited"
    assert broker.varz()["connections"] == 0

    # launched without the survey (API extra vars), a wrong type still fails the job with the field named
    (data / "env" / "extravars").write_text(yaml.safe_dump(dict(answers, instances="lots", run_dir=str(run_dir))))
    status, rc, events, stdout = job(data, templates["Start emulator"]["playbook"], "bad-survey")
    assert status == "failed" and rc != 0
    failed = [e for e in events if e["event"] == "runner_on_failed"]
    assert failed and failed[0]["event_data"]["res"]["msg"].startswith("instances must be a whole number above 0")
    assert failed[0]["event_data"]["res"]["msg"].endswith('got "lots"')
