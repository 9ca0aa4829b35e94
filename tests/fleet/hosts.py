"""Real SSH hosts on this machine: Debian roots in network namespaces, for the fleet tier (issue 14).

Each host is a ``debootstrap --variant=minbase`` root of one Debian release (cached as a tarball under
/var/cache/chorialab/fleet/, keyed by suite, package list and mirror), unpacked per run, running sshd in
its own network, PID, mount and UTS namespaces: its processes see only each other in /proc (the modules
find processes there), its hostname is its own (the emulator names nodes after it), and when its init
exits the kernel ends everything that ran inside. Hosts sit on a bridge with an address from 198.18.0.0/15
(reserved for network tests); the controller (this namespace) has .1. User ``deploy`` logs in with a test
key and has passwordless sudo, as on a cloud image.

Usage from a test: ``with Fleet.up(["bullseye", "bookworm", "trixie"], workdir) as fleet: ...``; as a
command (molecule's delegated driver): ``python hosts.py up STATE_DIR bullseye ...`` and
``python hosts.py down STATE_DIR``. ``down`` removes namespaces, links, mounts and files and then checks
that nothing is left.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

CACHE = Path(os.environ.get("CHORIA_FLEET_CACHE", "/var/cache/chorialab/fleet"))
MIRROR = os.environ.get("CHORIA_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# What a minimal cloud image has (python3, openssh-server, sudo), plus python3-venv: Debian splits the
# venv module out of python3 and setup_prereqs makes a venv (the role says so when it is missing).
PACKAGES = ("python3", "python3-venv", "openssh-server", "sudo")
SUITES = {"bullseye": "11", "bookworm": "12", "trixie": "13"}
USER = "deploy"

# Runs as PID 1 of the host's PID namespace (host Python, before the chroot): mounts /proc, /dev and
# /run for the root, names the host, starts sshd in the root and reaps every orphan (nats-server and
# emulators daemonize) until sshd ends or it is told to stop; then the kernel ends what is left.
INIT = r"""
import os, resource, signal, socket, subprocess, sys
root, hostname = sys.argv[1], sys.argv[2]
subprocess.run(["mount", "--make-rprivate", "/"], check=True)
subprocess.run(["mount", "-t", "proc", "proc", root + "/proc"], check=True)
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=755", "tmpfs", root + "/dev"], check=True)
for dev in ("null", "zero", "full", "random", "urandom", "tty"):
    open(root + "/dev/" + dev, "w").close()
    subprocess.run(["mount", "--bind", "/dev/" + dev, root + "/dev/" + dev], check=True)
for dev in ("pts", "shm"):
    os.mkdir(root + "/dev/" + dev)
# raw and become use a pty: a devpts of the host's own
subprocess.run(["mount", "-t", "devpts", "-o", "newinstance,ptmxmode=0666,mode=620", "devpts", root + "/dev/pts"],
               check=True)
os.symlink("pts/ptmx", root + "/dev/ptmx")
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=1777", "tmpfs", root + "/dev/shm"], check=True)
for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                     ("stderr", "/proc/self/fd/2")):
    os.symlink(target, root + "/dev/" + name)
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", root + "/run"], check=True)
os.makedirs(root + "/run/sshd", mode=0o755, exist_ok=True)
socket.sethostname(hostname)
# A stock VM's soft open-files limit: the emulator and the role must raise it themselves.
resource.setrlimit(resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
sshd = subprocess.Popen(["chroot", root, "/usr/sbin/sshd", "-D", "-e", "-o", "UsePAM=no",
                         "-o", "PasswordAuthentication=no", "-o", "UseDNS=no"])
signal.signal(signal.SIGTERM, lambda *a: sshd.terminate())
while True:
    pid, status = os.wait()
    if pid == sshd.pid:
        sys.exit(0)
"""


def log(message: str) -> None:
    """Progress on stderr: building a root takes minutes on a cold cache."""
    print(f"fleet: {message}", file=sys.stderr, flush=True)


def sh(*argv: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a command; a failure raises with its output."""
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stdout}{proc.stderr}")
    return proc


def ensure_tools() -> None:
    """debootstrap is not on a fresh machine: the tier installs it (Debian's own package)."""
    if shutil.which("debootstrap") is None:
        log("apt-get install debootstrap")
        sh("apt-get", "update", "-q", timeout=300)
        sh("apt-get", "install", "-y", "-q", "debootstrap", timeout=600)


def root_tarball(suite: str) -> Path:
    """The cached root of ``suite``, built with debootstrap on first use (about 70-120 s per suite)."""
    key = hashlib.sha256(json.dumps([suite, PACKAGES, MIRROR, USER, 1]).encode()).hexdigest()[:12]
    tarball = CACHE / f"{suite}-{key}.tar"
    if tarball.exists():
        return tarball
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{suite}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tarball.exists():
            return tarball
        ensure_tools()
        build = Path(tempfile.mkdtemp(prefix=f"{suite}-", dir=CACHE))
        try:
            started = time.monotonic()
            log(f"debootstrap {suite} (cached afterwards as {tarball})")
            sh("debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES), suite, str(build / "root"),
               MIRROR, timeout=1200)  # fmt: skip
            chroot = ("chroot", str(build / "root"))
            sh(*chroot, "useradd", "--create-home", "--shell", "/bin/bash", USER)
            sh(*chroot, "usermod", "--password", "*", USER)  # no password, not locked: key login works
            (build / "root/etc/sudoers.d" / USER).write_text(f"{USER} ALL=(ALL) NOPASSWD:ALL\n")
            (build / "root/etc/sudoers.d" / USER).chmod(0o440)
            for key_file in (build / "root/etc/ssh").glob("ssh_host_*"):
                key_file.unlink()  # each host makes its own
            sh(*chroot, "apt-get", "clean")
            shutil.rmtree(build / "root/var/lib/apt/lists", ignore_errors=True)
            sh("tar", "-C", str(build / "root"), "--numeric-owner", "-cf", str(build / "root.tar"), ".", timeout=600)
            os.replace(build / "root.tar", tarball)
            log(f"{suite} root built in {time.monotonic() - started:.0f} s")
        finally:
            shutil.rmtree(build, ignore_errors=True)
    return tarball


@dataclass
class Host:
    """One host: its namespace, root, address and init PID."""

    name: str
    suite: str
    netns: str
    root: str
    address: str
    host_link: str
    init_pid: int = 0


@dataclass
class Fleet:
    """The hosts of one run, the bridge they share and the controller's key; ``down`` removes all of it."""

    workdir: str
    prefix: str
    bridge: str
    subnet: str
    key: str
    hosts: list[Host]

    @classmethod
    @contextlib.contextmanager
    def running(cls, suites: list[str], workdir: Path) -> Iterator[Fleet]:
        """Hosts for ``suites`` that are removed again however the block ends."""
        fleet = cls.up(suites, workdir)
        try:
            yield fleet
        finally:
            fleet.down()

    @classmethod
    def up(cls, suites: list[str], workdir: Path) -> Fleet:
        """Start one host per suite; on any failure what was made so far is removed."""
        tarballs = {suite: root_tarball(suite) for suite in suites}
        workdir = Path(workdir).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        prefix = f"cf{random.randrange(0x10000):04x}"
        subnet = free_subnet()
        fleet = cls(str(workdir), prefix, prefix + "br", subnet, str(workdir / "id_ed25519"), [])
        fleet.save()
        try:
            for name in (fleet.key, fleet.key + ".pub"):
                Path(name).unlink(missing_ok=True)
            sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "chorialab fleet test", "-f", fleet.key)
            sh("ip", "link", "add", fleet.bridge, "type", "bridge")
            sh("ip", "addr", "add", f"{subnet}.1/24", "dev", fleet.bridge)
            sh("ip", "link", "set", fleet.bridge, "up")
            for index, suite in enumerate(suites):
                host = Host(
                    name=f"{suite}-{prefix}",
                    suite=suite,
                    netns=f"{prefix}-{suite}",
                    root=str(workdir / suite / "root"),
                    address=f"{subnet}.{10 + index}",
                    host_link=f"{prefix}h{index}",
                )
                fleet.hosts.append(host)
                fleet.save()
                fleet.start_host(host, tarballs[suite])
                fleet.save()
            fleet.wait_for_ssh()
        except BaseException:
            fleet.down()
            raise
        return fleet

    def save(self) -> None:
        """What exists so far, for ``down`` from another process (molecule destroy)."""
        (Path(self.workdir) / "fleet.json").write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, workdir: Path) -> Fleet:
        """The fleet ``up`` recorded in ``workdir``."""
        data = json.loads((Path(workdir) / "fleet.json").read_text())
        data["hosts"] = [Host(**host) for host in data["hosts"]]
        return cls(**data)

    def start_host(self, host: Host, tarball: Path) -> None:
        """Unpack the root, add the key, wire the namespace to the bridge and start init + sshd."""
        root = Path(host.root)
        root.mkdir(parents=True)
        sh("tar", "-C", str(root), "--numeric-owner", "-xf", str(tarball), timeout=300)
        ssh_dir = root / "home" / USER / ".ssh"
        ssh_dir.mkdir(mode=0o700)
        (ssh_dir / "authorized_keys").write_text(Path(self.key + ".pub").read_text())
        uid_gid = sh("chroot", str(root), "id", "-u", USER).stdout.strip(), sh("chroot", str(root), "id", "-g", USER)
        for path in (ssh_dir, ssh_dir / "authorized_keys"):
            os.chown(path, int(uid_gid[0]), int(uid_gid[1].stdout.strip()))
        (root / "etc/hostname").write_text(host.name + "\n")
        with open(root / "etc/hosts", "a") as hosts:
            hosts.write(f"{host.address} {host.name}\n")
        sh("chroot", str(root), "ssh-keygen", "-A")
        sh("ip", "netns", "add", host.netns)
        peer = host.host_link + "p"
        sh("ip", "link", "add", host.host_link, "type", "veth", "peer", "name", peer)
        sh("ip", "link", "set", host.host_link, "master", self.bridge, "up")
        sh("ip", "link", "set", peer, "netns", host.netns)
        inside = ("ip", "netns", "exec", host.netns)
        sh(*inside, "ip", "link", "set", "lo", "up")
        sh(*inside, "ip", "link", "set", peer, "name", "eth0")
        sh(*inside, "ip", "addr", "add", f"{host.address}/24", "dev", "eth0")
        sh(*inside, "ip", "link", "set", "eth0", "up")
        sh(*inside, "ip", "route", "add", "default", "via", f"{self.subnet}.1")
        log_file = open(Path(self.workdir) / f"{host.suite}-sshd.log", "ab")  # the child keeps it
        init = subprocess.Popen(
            [
                *inside,
                "unshare",
                "--pid",
                "--mount",
                "--uts",
                "--fork",
                "--kill-child",
                sys.executable,
                "-c",
                INIT,
                host.root,
                host.name,
            ],  # fmt: skip
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log_file.close()
        host.init_pid = init.pid

    def wait_for_ssh(self, timeout: float = 60) -> None:
        """Every host answers ``true`` over SSH as deploy, and ``sudo -n true``."""
        deadline = time.monotonic() + timeout
        for host in self.hosts:
            while True:
                proc = subprocess.run(
                    [*self.ssh_argv(host), "sudo", "-n", "true"], capture_output=True, text=True, timeout=30,
                    check=False,
                )  # fmt: skip
                if proc.returncode == 0:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{host.name}: no SSH login after {timeout} s: {proc.stderr}")
                time.sleep(0.3)

    def ssh_argv(self, host: Host) -> list[str]:
        """``ssh`` to ``host`` as deploy with the test key."""
        return ["ssh", *self.ssh_options(), f"{USER}@{host.address}"]

    def ssh_options(self) -> list[str]:
        """Options for the test hosts: the key, no known_hosts (host keys are new each run)."""
        return [
            "-i", self.key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
        ]  # fmt: skip

    def inventory(self, groups: dict[str, list[int]] | None = None) -> str:
        """An Ansible inventory (YAML) of the hosts over SSH with become; ``groups`` maps a group to host indexes."""
        hosts = {
            host.name: {"ansible_host": host.address, "debian_suite": host.suite, "debian_release": SUITES[host.suite]}
            for host in self.hosts
        }
        children = {
            group: {"hosts": {self.hosts[index].name: None for index in indexes}}
            for group, indexes in (groups or {}).items()
        }
        inventory = {
            "all": {
                "hosts": hosts,
                "children": children,
                "vars": {
                    "ansible_user": USER,
                    "ansible_ssh_private_key_file": self.key,
                    "ansible_ssh_common_args": " ".join(self.ssh_options()[2:]),
                    "ansible_become": True,
                    "ansible_python_interpreter": "/usr/bin/python3",
                },
            }
        }
        return json.dumps(inventory, indent=1)

    def control_dir(self) -> Path:
        """Where Ansible keeps its SSH control sockets for these hosts (closed by ``down``)."""
        return Path(self.workdir) / "cp"

    def down(self) -> None:
        """Remove every host, link and file of this fleet; raise if anything is left."""
        for socket_path in self.control_dir().glob("*") if self.control_dir().exists() else []:
            subprocess.run(["ssh", "-O", "exit", "-o", f"ControlPath={socket_path}", "127.0.0.1"], capture_output=True,
                           timeout=10, check=False)  # fmt: skip
        started = time.monotonic()
        for host in self.hosts:
            self.stop_host(host)
        sh("ip", "link", "del", self.bridge, check=False)
        log(f"{len(self.hosts)} hosts stopped in {time.monotonic() - started:.1f} s")
        leftovers = self.leftovers()
        started = time.monotonic()
        if not leftovers:
            for host in self.hosts:
                shutil.rmtree(Path(host.root).parent, ignore_errors=True)
            shutil.rmtree(self.control_dir(), ignore_errors=True)
            for name in (self.key, self.key + ".pub", str(Path(self.workdir) / "fleet.json")):
                Path(name).unlink(missing_ok=True)
            log(f"host files removed in {time.monotonic() - started:.1f} s")
        if leftovers:
            raise RuntimeError(f"fleet {self.prefix}: left behind: {leftovers}")

    def stop_host(self, host: Host) -> None:
        """End the host's init (the kernel ends its PID namespace), then its namespace and link."""
        if host.init_pid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(host.init_pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and pid_alive(host.init_pid):
                time.sleep(0.1)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(host.init_pid, signal.SIGKILL)
        netns_pids = sh("ip", "netns", "pids", host.netns, check=False).stdout.split()
        for pid in netns_pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        time.sleep(0.2 if netns_pids else 0)
        sh("ip", "netns", "del", host.netns, check=False)
        sh("ip", "link", "del", host.host_link, check=False)

    def leftovers(self) -> list[str]:
        """Namespaces, links, mounts and processes of this fleet that still exist."""
        found = []
        namespaces = sh("ip", "netns", "list").stdout
        links = sh("ip", "-o", "link", "show").stdout
        with open("/proc/self/mountinfo") as mountinfo:
            mounts = mountinfo.read()
        for host in self.hosts:
            if host.netns in namespaces:
                found.append(f"namespace {host.netns}")
            if f" {host.host_link}@" in links or f" {host.host_link}:" in links:
                found.append(f"link {host.host_link}")
            if f" {host.root}" in mounts:
                found.append(f"mount under {host.root}")
            if host.init_pid and pid_alive(host.init_pid):
                found.append(f"init pid {host.init_pid}")
        if f" {self.bridge}:" in links:
            found.append(f"bridge {self.bridge}")
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit() and int(proc.name) != os.getpid():
                with contextlib.suppress(OSError):
                    if self.workdir.encode() in (proc / "cmdline").read_bytes():
                        found.append(f"process {proc.name}: {(proc / 'cmdline').read_bytes()[:120]!r}")
        return found


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def free_subnet() -> str:
    """A 198.18.N /24 that no route on this machine uses (several runs may share the machine)."""
    routes = sh("ip", "-4", "route", "show").stdout
    for _ in range(100):
        subnet = f"198.18.{random.randrange(1, 255)}"
        if f"{subnet}." not in routes:
            return subnet
    raise RuntimeError("no free /24 in 198.18.0.0/16")


def main(argv: list[str]) -> int:
    """``up STATE_DIR SUITE...`` / ``down STATE_DIR`` / ``build SUITE...`` for molecule and by hand."""
    command, rest = argv[0], argv[1:]
    if command == "build":
        for suite in rest:
            print(root_tarball(suite))
    elif command == "up":
        fleet = Fleet.up(rest[1:], Path(rest[0]))
        print(json.dumps([asdict(host) for host in fleet.hosts]))
    elif command == "down":
        state = Path(rest[0])
        if (state / "fleet.json").exists():
            Fleet.load(state).down()
    else:
        raise SystemExit(f"unknown command {command!r}: up STATE_DIR SUITE... | down STATE_DIR | build SUITE...")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
