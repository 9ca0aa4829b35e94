"""The collection over SSH with become on Debian 11, 12 and 13 hosts (issue 14), installed from the galaxy artifact.

One host per release (tests/fleet/hosts.py): setup_prereqs from a controller-built wheelhouse (the documented
command), a 3-node NATS cluster across the hosts, emulators on all three, a load test and a ping from the
controller that see every node, stop: nothing left running. The tests run in file order on one fleet.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from hosts import SUITES, Fleet

REPO = Path(__file__).resolve().parents[2]
WALKTHROUGH = REPO / "docs" / "ansible" / "scaling-out.md"
BIN = Path(sys.executable).parent
VENV = BIN.parent
INSTANCES = 100  # per host
NATS_PORT, NATS_MONITOR_PORT, CLUSTER_PORT, EMULATOR_HTTP_PORT = 4222, 8222, 6222, 8080
PYTHONS = {"bullseye": "3.9", "bookworm": "3.11", "trixie": "3.13"}
pytestmark = pytest.mark.timeout(900)  # the first test also builds roots on a cold cache


def run(command: list, cwd: Path, env: dict | None = None, check: bool = True, timeout: float = 600):
    """Run a command from this venv; on failure the assertion shows its whole output."""
    proc = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=dict(os.environ, PATH=os.pathsep.join([str(BIN), os.environ["PATH"]]), **(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check:
        assert proc.returncode == 0, f"{' '.join(map(str, command))} exited {proc.returncode}:\n{proc.stdout}"
    return proc


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """Three hosts, removed again (and checked gone) after the module, however it ends."""
    with Fleet.running(list(SUITES), tmp_path_factory.mktemp("fleet")) as fleet:
        yield fleet


@pytest.fixture(scope="module")
def collections(tmp_path_factory) -> Path:
    """The collection as users get it: ansible-galaxy collection build + install."""
    out = tmp_path_factory.mktemp("galaxy")
    run([BIN / "ansible-galaxy", "collection", "build", "--output-path", out, REPO], cwd=out)
    (tarball,) = out.glob("chorialab-choria-*.tar.gz")
    run([BIN / "ansible-galaxy", "collection", "install", "-p", out / "collections", tarball], cwd=out)
    return out / "collections"


@pytest.fixture(scope="module")
def ansible(fleet, collections, tmp_path_factory):
    """``ansible(playbook, *args)``: ansible-playbook by FQCN against the fleet's inventory."""
    work = tmp_path_factory.mktemp("controller")
    # the walkthrough's inventory, at the fleet's addresses, with the test key and SSH options added
    inventory = yaml.safe_load(walkthrough_block("inventory.yml", fleet))
    inventory["all"]["vars"].update(yaml.safe_load(fleet.inventory())["all"]["vars"])
    inventory["all"]["children"]["controller"] = {
        "hosts": {
            "localhost": {
                "ansible_connection": "local",
                "ansible_become": False,
                "ansible_python_interpreter": sys.executable,
                "choria_venv": str(VENV),
                "emulator_state_dir": str(work / "run"),
            }
        }
    }
    (work / "hosts.yml").write_text(yaml.safe_dump(inventory))
    env = {
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_PIPELINING": "1",
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(fleet.control_dir()),
        "ANSIBLE_HOST_KEY_CHECKING": "0",
        "ANSIBLE_FORKS": "3",
    }

    def play(playbook: str, *args: str, check: bool = True):
        return run([BIN / "ansible-playbook", "-i", "hosts.yml", playbook, *args], cwd=work, env=env, check=check)

    play.work = work  # type: ignore[attr-defined]
    play.names = list(inventory["all"]["children"]["nats"]["hosts"])  # type: ignore[attr-defined]
    assert len(play.names) == len(fleet.hosts)  # type: ignore[attr-defined]
    play.collections = collections  # type: ignore[attr-defined]
    return play


def walkthrough_block(name: str, fleet: Fleet) -> str:
    """The YAML block ``name`` of the walkthrough in docs/ansible/scaling-out.md, at the fleet's addresses."""
    text = WALKTHROUGH.read_text()
    marker = f"<!-- fleet: {name} -->\n```yaml\n"
    assert marker in text, f"{WALKTHROUGH} has no {name} block"
    block = text.split(marker, 1)[1].split("```", 1)[0]
    for index, host in enumerate(fleet.hosts):
        block = block.replace(f"10.0.0.{11 + index}", host.address)
    assert "10.0.0." not in block, "the walkthrough names more hosts than the fleet has"
    return block


def on_host(fleet: Fleet, index: int, command: str, check: bool = True) -> str:
    """Run ``command`` over SSH as deploy on host ``index``; its stdout."""
    proc = subprocess.run(
        [*fleet.ssh_argv(fleet.hosts[index]), command], capture_output=True, text=True, timeout=60, check=False
    )
    if check:
        assert proc.returncode == 0, f"{fleet.hosts[index].name}: {command} exited {proc.returncode}: {proc.stderr}"
    return proc.stdout


PROGRAMS = (
    "import os\n"
    "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
    "    if int(pid) == os.getpid(): continue\n"
    "    try: cmd = open('/proc/%s/cmdline' % pid, 'rb').read().replace(b'\\0', b' ').decode()\n"
    "    except OSError: continue\n"
    "    if 'nats-server' in cmd or 'choria-emulator' in cmd or 'choria_emulator' in cmd: print(pid, cmd)\n"
)


def running_programs(fleet: Fleet, index: int) -> list[str]:
    """nats-server and emulator processes on host ``index`` (its own PID namespace)."""
    return on_host(fleet, index, "python3 -c " + shlex.quote(PROGRAMS)).splitlines()


def test_setup_prereqs_from_a_wheelhouse(fleet, ansible):
    """The documented offline path: one command builds the wheelhouse, setup_prereqs installs from it with become."""
    wheelhouse = ansible.work / "wheelhouse"
    script = ansible.collections / "ansible_collections/chorialab/choria/roles/setup_prereqs/files/build_wheelhouse.py"
    pythons = [arg for version in PYTHONS.values() for arg in ("--python", version)]
    built = json.loads(run([sys.executable, script, wheelhouse, *pythons], cwd=ansible.work).stdout)
    assert any(name.startswith("choria_emulator-") for name in built["wheels"])
    result = ansible("chorialab.choria.setup_prereqs", "-e", f"wheelhouse={wheelhouse}")
    assert "failed=0" in result.stdout
    for index, host in enumerate(fleet.hosts):
        owner = on_host(fleet, index, "stat -c %U /opt/choria-emulator /opt/choria-emulator/bin/python").split()
        assert owner == ["root", "root"], host.name
        # usable by a normal user: deploy runs both programs without sudo
        version = on_host(fleet, index, "/opt/choria-emulator/bin/python -c 'import sys; print(sys.version)'")
        assert version.startswith(PYTHONS[host.suite] + "."), (host.name, version)
        assert "choria-emulator" in on_host(fleet, index, "/opt/choria-emulator/bin/choria-emulator --version")
        assert on_host(fleet, index, "/opt/choria-emulator/bin/nats-server --version").startswith("nats-server")
    again = ansible("chorialab.choria.setup_prereqs", "-e", f"wheelhouse={wheelhouse}")
    assert "changed=0" in again.stdout and "failed=0" in again.stdout, again.stdout


def test_setup_prereqs_refuses_an_old_python_first(fleet, ansible):
    """A target Python below 3.9 fails at the first task, saying what is needed (not late, at pip)."""
    on_host(fleet, 0, "printf '#!/bin/sh\\necho 3.8.10\\n' > /tmp/python3.8 && chmod +x /tmp/python3.8")
    result = ansible(
        "chorialab.choria.setup_prereqs", "-e", "python=/tmp/python3.8", "--limit", ansible.names[0], check=False
    )
    assert result.returncode != 0
    assert "is Python 3.8.10; choria-emulator and nats-server need Python 3.9 or later" in result.stdout, result.stdout
    assert "Install the emulator" not in result.stdout


def shared_vars(fleet, ansible) -> str:
    """The walkthrough's network.yml: one extra-vars file for every playbook, distinct port names."""
    path = ansible.work / "network.yml"
    network = yaml.safe_load(walkthrough_block("network.yml", fleet))
    assert (network["nats_port"], network["nats_monitor_port"], network["cluster"]["port"]) == (
        NATS_PORT,
        NATS_MONITOR_PORT,
        CLUSTER_PORT,
    )
    assert network["instances"] == INSTANCES
    path.write_text(yaml.safe_dump(network))
    return f"@{path}"


def test_a_three_node_nats_cluster(fleet, ansible):
    """start_nats on the three hosts with routes over their addresses: every broker sees the other two."""
    result = ansible("chorialab.choria.start_nats", "-e", shared_vars(fleet, ansible))
    assert "reserved name" not in result.stdout, result.stdout
    for host in fleet.hosts:
        for _ in range(50):
            with urllib.request.urlopen(f"http://{host.address}:{NATS_MONITOR_PORT}/routez", timeout=5) as answer:
                routez = json.load(answer)
            if routez["num_routes"] >= 2:
                break
            time.sleep(0.2)
        peers = {route.get("remote_name") or route["ip"] for route in routez["routes"]}
        assert len(peers) >= 2, (host.name, routez)


def test_emulators_on_every_host(fleet, ansible):
    """start_emulator on all three hosts against the cluster, with the same vars file; each holds its instances
    with the open-files limit the role gives it (the login's soft limit is 1024, as on a stock VM)."""
    result = ansible("chorialab.choria.start_emulator", "-e", shared_vars(fleet, ansible))
    assert f"3 hosts x {INSTANCES} instances = {3 * INSTANCES} nodes on 3 brokers" in result.stdout, result.stdout
    assert "reserved name" not in result.stdout, result.stdout
    assert on_host(fleet, 0, "ulimit -Sn").strip() == "1024"
    # 65536 from the role, or root's hard limit where the machine allows no more (this one may be a container)
    expected = min(65536, int(on_host(fleet, 0, "sudo -n sh -c 'ulimit -Hn'").strip()))
    for index, host in enumerate(fleet.hosts):
        records = on_host(fleet, index, "cd /tmp/choria-emulator && ls *.state.json").split()
        name = ansible.names[index]
        assert sorted(records) == sorted([f"emulator-{name}.state.json", "nats-server-4222.state.json"])
        for record in records:
            pid = json.loads(on_host(fleet, index, f"cat /tmp/choria-emulator/{record}"))["pid"]
            limits = on_host(fleet, index, f"grep 'Max open files' /proc/{pid}/limits").split()
            assert limits[3:5] == [str(expected), str(expected)], (host.name, record, limits)


def test_instances_that_do_not_fit_the_open_files_limit_fail_clearly(fleet, ansible):
    """With a limit too low for one worker's instances the start fails saying what is needed, and leaves nothing."""
    before = running_programs(fleet, 0)
    result = ansible(
        "chorialab.choria.start_emulator",
        *("-e", "emulator_name=toolarge", "-e", "emulator_http_port=8090", "-e", "instances=600"),
        *("-e", "workers=1", "-e", "emulator_open_files=300", "--limit", ansible.names[0]),
        check=False,
    )
    assert result.returncode != 0
    assert "600 instances per worker need more than the 300 open files a process may have" in result.stdout, (
        result.stdout
    )
    assert "use --workers" in result.stdout or "raise the hard open-files limit" in result.stdout
    assert running_programs(fleet, 0) == before


def test_loadtest_and_ping_from_the_controller(fleet, ansible):
    """The controller measures the network and pings it: every node of every host answers."""
    result = ansible(
        "chorialab.choria.loadtest", "-v", "-e", "loadtest_host=localhost", "-e", "count=3", "-e", "plots=false"
    )
    assert f"3/3 requests got all {3 * INSTANCES} replies" in result.stdout, result.stdout
    # the hosts' emulators answer /debug/vars on their own 127.0.0.1: the controller must not read its own
    (measure,) = [line for line in result.stdout.splitlines() if '"cmd": [' in line and '"measure"' in line]
    assert f"127.0.0.1:{EMULATOR_HTTP_PORT}" not in measure, measure
    servers = ",".join(f"{host.address}:{NATS_PORT}" for host in fleet.hosts)
    ping = run(
        [BIN / "choria-emulator", "ping", "--server", servers, "--expect", 3 * INSTANCES, "--timeout", 10, "--json"],
        cwd=ansible.work,
    )
    identities = json.loads(ping.stdout)["nodes"]
    for name in ansible.names:
        assert sum(1 for identity in identities if identity.startswith(name)) == INSTANCES, (name, identities)


def test_stop_with_arguments_that_match_nothing_fails(fleet, ansible):
    """stop_nats on another port, stop_emulator by another name and port: a clear failure, nothing stopped."""
    result = ansible("chorialab.choria.stop_nats", "-e", "nats_port=4300", check=False)
    assert result.returncode != 0
    assert "nothing runs as nats-server on port 4300, but nats-server on port 4222 (pid" in result.stdout, result.stdout
    # (a name alone still finds the emulator on its HTTP port, as the original stop did, and stops it)
    result = ansible(
        "chorialab.choria.stop_emulator", "-e", "emulator_name=elsewhere", "-e", "emulator_http_port=8999", check=False
    )
    assert result.returncode != 0
    assert "nothing runs as choria-emulator emulate elsewhere, but choria-emulator emulate" in result.stdout
    for index in range(len(fleet.hosts)):
        assert len(running_programs(fleet, index)) >= 2


def test_stop_without_arguments_stops_what_was_started(fleet, ansible):
    """stop_emulator and stop_nats with no variables: exactly what the starts recorded; nothing left running."""
    ansible("chorialab.choria.stop_emulator")
    ansible("chorialab.choria.stop_nats")
    for index, host in enumerate(fleet.hosts):
        assert running_programs(fleet, index) == [], host.name
        assert on_host(fleet, index, "ls /tmp/choria-emulator/*.state.json 2>/dev/null", check=False) == ""
    again = ansible("chorialab.choria.stop_nats")
    assert "changed=0" in again.stdout and "failed=0" in again.stdout
