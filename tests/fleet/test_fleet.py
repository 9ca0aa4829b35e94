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
    inventory = yaml.safe_load(fleet.inventory(groups={"nats": [0, 1, 2], "emulators": [0, 1, 2]}))
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
    play.collections = collections  # type: ignore[attr-defined]
    return play


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


def test_a_three_node_nats_cluster(fleet, ansible):
    """start_nats on the three hosts with routes over their addresses: every broker sees the other two."""
    routes = [f"nats://{host.address}:{CLUSTER_PORT}" for host in fleet.hosts]
    cluster = json.dumps({"cluster": {"name": "fleet", "port": CLUSTER_PORT, "routes": routes}})
    ansible("chorialab.choria.start_nats", "-e", cluster)
    for host in fleet.hosts:
        for _ in range(50):
            with urllib.request.urlopen(f"http://{host.address}:{NATS_MONITOR_PORT}/routez", timeout=5) as answer:
                routez = json.load(answer)
            if routez["num_routes"] >= 2:
                break
            time.sleep(0.2)
        peers = {route["remote_name"] if "remote_name" in route else route["ip"] for route in routez["routes"]}
        assert len(peers) >= 2, (host.name, routez)


def test_emulators_on_every_host(fleet, ansible):
    """start_emulator on all three hosts against the cluster; each holds its instances."""
    result = ansible("chorialab.choria.start_emulator", "-e", f"instances={INSTANCES}")
    assert f"3 hosts x {INSTANCES} instances = {3 * INSTANCES} nodes on 3 brokers" in result.stdout, result.stdout


def test_loadtest_and_ping_from_the_controller(fleet, ansible):
    """The controller measures the network and pings it: every node of every host answers."""
    result = ansible("chorialab.choria.loadtest", "-e", "loadtest_host=localhost", "-e", "count=3", "-e", "plots=false")
    assert f"3/3 requests got all {3 * INSTANCES} replies" in result.stdout, result.stdout
    servers = ",".join(f"{host.address}:{NATS_PORT}" for host in fleet.hosts)
    ping = run(
        [BIN / "choria-emulator", "ping", "--server", servers, "--expect", 3 * INSTANCES, "--timeout", 10, "--json"],
        cwd=ansible.work,
    )
    names = json.loads(ping.stdout)["nodes"]
    for host in fleet.hosts:
        assert sum(1 for name in names if host.name in str(name)) == INSTANCES, host.name


def test_stop_leaves_nothing_running(fleet, ansible):
    """stop_emulator and stop_nats: no emulator or broker process on any host."""
    ansible("chorialab.choria.stop_emulator")
    ansible("chorialab.choria.stop_nats")
    for index, host in enumerate(fleet.hosts):
        assert running_programs(fleet, index) == [], host.name
