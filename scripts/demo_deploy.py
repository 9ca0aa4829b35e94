#!/usr/bin/env python3
"""`make demo-deploy`: rehearse the blue/green deploy against emulated nodes, then stop everything.

On a routed three-server NATS cluster on this machine, an emulator serves DEPLOY_SIZE nodes (1,000
by default) with the puppet, haproxy, appmgr and nrpe agents from their DDLs and the blue-green
scenario. The shipped playbook (choria-emulator scenario path playbooks) runs natively and
converted to Ansible (DEPLOY_MODES, "native converted"), each on a fresh fleet: first where the
deploy succeeds, then where 1 %
of the nodes never pass the NRPE check, so the run takes its on_fail path (webhook + failure
handler playbook). The webhook and Slack go to a local HTTP sink. Retry pauses are DEPLOY_TRY_SLEEP
seconds (5; the shipped playbook waits 30 s between tries, as the seed's deploy did).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from choria_emulator.testing.localnet import exit_on_termination
from choria_emulator.testing.rehearsal import Rehearsal, rehearse

REPO = Path(__file__).resolve().parent.parent


def say(line: str) -> None:
    print(line, flush=True)


def main() -> int:
    exit_on_termination()  # a killed rehearsal still stops its NATS cluster and emulator
    size = int(os.environ.get("DEPLOY_SIZE", "1000"))
    try_sleep = float(os.environ.get("DEPLOY_TRY_SLEEP", "5"))
    modes = tuple(os.environ.get("DEPLOY_MODES", "native converted").split())
    keep = os.environ.get("KEEP") == "1"
    workdir = Path(tempfile.mkdtemp(prefix="demo-deploy-"))
    print(f"Rehearsing the blue/green deploy on {size} emulated nodes ({', '.join(modes)}); work files in {workdir}")
    try:
        return report(rehearse(workdir, size, try_sleep=try_sleep, modes=modes, repo=REPO, say=say), workdir, keep)
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)  # KEEP=1 keeps the reports, logs and step timings


def report(result: Rehearsal, workdir: Path, keep: bool) -> int:
    """One line per run; 0 when each variant ended as it should."""
    print()
    ok = True
    for (variant, mode), run in result.runs.items():
        hooks = [hook.get("outcome") for hook in result.webhooks[(variant, mode)]]
        expected = variant == "success"
        ok &= run.success == expected
        verdict = "as expected" if run.success == expected else "NOT AS EXPECTED"
        outcome = "success" if run.success else "failed"
        print(f"{variant:12} {mode:10} {outcome:8} {run.seconds:7.1f} s  webhooks: {hooks}  ({verdict})")
    if keep:
        (workdir / "rehearsal.json").write_text(json.dumps(result.to_dict(), indent=2))
        print(f"\nstep timings, playbook reports and logs: {workdir}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
