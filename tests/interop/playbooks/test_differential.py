"""Issue 11 part 3: the real mcollective-choria 0.6.0 playbook runner vs ours, natively and converted.

Every case of :mod:`cases` runs three times against the same emulated nodes and HTTP sink (its
files reset before each run): the unmodified Ruby runner, ``choria-emulator playbook run`` and the
Ansible play ``playbook convert`` writes. The test compares, with the real runner as the
reference: the outcome, the order in which task sets and hooks ran (the lines the tasks wrote),
the data store files afterwards, the RPC requests in order (the emulator's audit log) and the HTTP
requests. A deliberate difference is declared on the case and asserted as such.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from cases import ASPECTS, CASES, Case
from runners import BIN, Observed, http_view, normalise, rpc_calls, run_converted, run_native, run_real


def fill(value: Any, placeholders: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, replacement in placeholders.items():
            value = value.replace(key, replacement)
        return value
    if isinstance(value, dict):
        return {k: fill(v, placeholders) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, placeholders) for v in value]
    return value


def prepare(case: Case, directory: Path, placeholders: dict[str, str]) -> Path:
    """The case's files, fresh: the playbook, its fixtures, no log and no store files."""
    for path in directory.iterdir():
        if path.is_file():
            path.unlink()
    for name, text in case.files.items():
        target = directory / name
        target.write_text(fill(text, placeholders))
        target.chmod(0o777 if name.endswith(".sh") else 0o666)
    path = directory / "playbook.yaml"
    path.write_text(yaml.safe_dump(fill(case.playbook, placeholders), sort_keys=False))
    path.chmod(0o644)
    return path


def read_store(path: Path) -> Any:
    if not path.exists():
        return None
    text = path.read_text()
    try:
        return json.loads(text)
    except ValueError:
        return text


def choriarc_home(directory: Path, url: str) -> Path:
    """A fresh HOME whose ``.choriarc`` is the only place that names the broker."""
    home = directory / "home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    (home / ".choriarc").write_text(f"plugin.choria.middleware_hosts = {url}\n")
    return home


def refusals(path: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    """``playbook show`` and ``playbook validate`` of ``path``."""
    return {
        command: subprocess.run(
            [str(BIN / "choria-emulator"), "playbook", command, str(path)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        for command in ("show", "validate")
    }


def run(case: Case, runner: str, network: Any, sink: Any, directory: Path, collections: Path) -> Observed:
    placeholders = {"@DIR@": str(directory), "@HTTP@": sink.url}
    path = prepare(case, directory, placeholders)
    sink.requests.clear()
    sink.replies.clear()
    for prefix, status, body in case.replies:
        sink.respond(prefix, status, body)
    mark = len(network.audit_lines())
    inputs = fill(case.inputs, placeholders)
    home = choriarc_home(directory, network.url) if case.choriarc else None
    if runner == "real":
        success, output, report = run_real(path, inputs, network.url, directory)
    elif runner == "native":
        success, output, report = run_native(path, inputs, network.url, directory, home)
    else:
        success, output, report = run_converted(path, inputs, network.url, directory, collections, home)
    log = directory / "log"
    return Observed(
        runner=runner,
        success=success,
        log=[normalise(line) for line in log.read_text().splitlines()] if log.exists() else [],
        stores={name: read_store(directory / name) for name in case.stores},
        rpc=rpc_calls(network.audit_lines()[mark:]),
        http=http_view(sink.requests),
        report=report,
        output=output,
    )


def explain(observed: dict[str, Observed]) -> str:
    parts = []
    for name, seen in observed.items():
        parts.append(f"===== {name}: success={seen.success}")
        parts.append(json.dumps(seen.view(ASPECTS[1:]), indent=1, default=str)[-4000:])
        parts.append(seen.output[-5000:])
    return "\n".join(parts)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_real_native_and_converted_runs_agree(case, pb_network, sink, case_dir, collections):
    observed = {runner: run(case, runner, pb_network, sink, case_dir, collections) for runner in case.runners}
    detail = explain(observed)
    real = observed["real"]
    assert real.success is case.success, detail
    declared = {(d.runner, d.aspect): d for d in case.differences}
    for runner, seen in observed.items():
        if runner == "real":
            continue
        for aspect in ASPECTS:
            ours, theirs = getattr(seen, aspect), getattr(real, aspect)
            difference = declared.get((runner, aspect))
            if difference is None:
                assert ours == theirs, f"{runner} differs from the real runner in {aspect}\n{detail}"
            elif difference.check is not None:
                assert difference.check(ours), f"{runner} {aspect}: {difference.reason}\n{detail}"
            else:
                assert ours == difference.value, f"{runner} {aspect}: {difference.reason}\n{detail}"
    if case.report_nodes:
        assert real.report is not None and observed["native"].report is not None, detail
        ours, theirs = observed["native"].report["nodes"], real.report["nodes"]
        assert {k: sorted(v) for k, v in ours.items()} == {k: sorted(v) for k, v in theirs.items()}, detail  # any order
    for message in case.messages:  # the real runner's words, printed by every runner
        for runner, seen in observed.items():
            assert message in seen.output, f"{runner} does not say {message!r}\n{detail}"
    if case.invalid:  # ours refuse to show or validate what the real runner refuses to load, with its messages
        for command, done in refusals(case_dir / "playbook.yaml").items():
            printed = done.stdout + done.stderr
            assert done.returncode == 1 and "Traceback" not in printed, f"{command}: {printed}"
            assert all(message in printed for message in case.messages), f"{command}: {printed}"
    if case.success:
        assert any(real.view(ASPECTS[1:]).values()), "a passing case must leave something to compare"
