"""``choria-emulator scenario``: the library and checking a file, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from scenario_support import LIBRARY


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "choria_emulator", "scenario", *args], capture_output=True, text=True, timeout=60
    )


def test_path_and_list_show_the_shipped_library():
    assert cli("path").stdout.strip() == str(LIBRARY)
    assert Path(cli("path", "ruby").stdout.strip(), "mcollective", "agent", "puppet.ddl").is_file()
    listing = cli("list").stdout
    for name in ("puppet", "service", "package", "nrpe", "haproxy", "appmgr", "blue-green", "blue-green-never-green"):
        assert f"  {name} " in listing


def test_validate_reports_what_a_scenario_covers_and_fails_with_the_field(tmp_path: Path):
    result = cli("validate", "blue-green", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert "nrpe#runcommand" in summary["actions"] and summary["groups"] == ["disk_warning", "mid_run", "never_green"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenario: 1\nagents: {puppet: {actions: {status: {reply: {idlng: true}}}}}\n")
    result = cli("validate", str(bad), "--ddl", "puppet")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"choria-emulator scenario: {bad}: agents.puppet.actions.status.reply.idlng: puppet#status has no output "
        "idlng (outputs: applying, idling, enabled, daemon_present, lastrun, since_lastrun, status, "
        "disable_message, message)"
    )
    result = cli("validate", str(bad), "--ddl", "nrpe")
    assert result.returncode == 2 and "no DDL of agent puppet is loaded (--ddl; loaded: nrpe)" in result.stderr
    result = cli("validate", str(bad), "--ddl", str(tmp_path / "nope"))
    assert result.returncode == 2 and "nope: no such file or directory" in result.stderr
