"""Issue 13 item 6: the plays ``playbook convert`` writes for the differential cases pass
``ansible-lint --profile production`` (the samples' plays are checked in tests/playbook)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from cases import CASES
from runners import BIN, ansible_env
from test_differential import fill


@pytest.mark.timeout(900)
def test_converted_cases_pass_ansible_lint_production(case_dir, collections):
    sites = []
    for index, case in enumerate(CASES):
        if case.invalid:  # nothing to convert: convert refuses it, as the real runner does (test_differential)
            continue
        directory = case_dir / f"c{index}"  # short paths: they appear in the converted commands
        directory.mkdir()
        placeholders = {"@DIR@": str(directory), "@HTTP@": "http://127.0.0.1:8080"}
        for name, text in case.files.items():
            (directory / name).write_text(fill(text, placeholders))
        source = directory / "playbook.yaml"
        source.write_text(yaml.safe_dump(fill(case.playbook, placeholders), sort_keys=False))
        site = directory / "site.yml"
        done = subprocess.run(
            [str(BIN / "choria-emulator"), "playbook", "convert", str(source), "-o", str(site)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, f"{case.id}: {done.stderr}"
        sites += [site, *(p for p in directory.glob("*.tasks.yml"))]
    done = subprocess.run(
        [str(BIN / "ansible-lint"), "--profile", "production", "--offline", "-f", "codeclimate", *map(str, sites)],
        capture_output=True,
        text=True,
        env={**ansible_env(collections), "ANSIBLE_LINT_NODEPS": "1", "NO_COLOR": "1"},
        cwd=case_dir,
        timeout=900,
    )
    assert done.stdout.strip().startswith("["), done.stdout[-2000:] + done.stderr[-3000:]
    findings = json.loads(done.stdout)
    assert findings == [], "\n".join(
        f"{f['check_name']} {Path(f['location']['path']).parent.name}: {f['description']}" for f in findings
    )
    assert len(sites) > len([case for case in CASES if not case.invalid])  # the nested playbook's tasks file too
