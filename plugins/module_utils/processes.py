# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Long-running processes on the target: start detached, find by PID file, stop by PID.

The modules run on the target with nothing but the standard library, so this is the one place
that knows how a daemon started by a module outlives it (own session, output to a log file),
how to tell a live PID from a reused or zombie one (``/proc/<pid>/cmdline`` and ``stat``),
and how to stop a process *and* the workers it forked (its process group).
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from typing import Callable

LOG_TAIL_LINES = 20


class ProcessError(Exception):
    """A process could not be started or stopped; the message is meant for ``fail_json``."""


def read_pid_file(path: str) -> int | None:
    """The PID in ``path``, or None when the file is missing, empty or not a number."""
    try:
        with open(path) as handle:
            text = handle.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def write_pid_file(path: str, pid: int) -> None:
    with open(path, "w") as handle:
        handle.write("%d\n" % pid)


def remove_file(path: str) -> None:
    try:
        os.unlink(path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise


def cmdline(pid: int) -> list[str]:
    """The argv of ``pid`` from /proc, empty when the process is gone."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            raw = handle.read()
    except OSError:
        return []
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def _stat_fields(pid: int) -> list[str]:
    try:
        with open("/proc/%d/stat" % pid) as handle:
            text = handle.read()
    except OSError:
        return []
    # the command name (field 2) may contain spaces and parentheses: split after the last ')'
    return text[text.rfind(")") + 2 :].split()


def is_running(pid: int | None) -> bool:
    """True for a live process; a zombie (exited, not yet reaped) counts as gone."""
    if not pid or pid <= 0:
        return False
    fields = _stat_fields(pid)
    return bool(fields) and fields[0] not in ("Z", "X")


def start_time(pid: int) -> float | None:
    """When ``pid`` started, as a Unix time, from /proc (None if unknown)."""
    fields = _stat_fields(pid)
    if len(fields) < 20:
        return None
    try:
        with open("/proc/stat") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith("btime "))
    except (OSError, StopIteration, ValueError):
        return None
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    return boot + int(fields[19]) / float(ticks)


def find_process(pid_file: str, marker: Callable[[list[str]], bool]) -> int | None:
    """The PID recorded in ``pid_file`` if that process runs and ``marker(argv)`` says it is ours.

    A PID file can outlive its process and the PID can be reused by something else, so the
    command line is checked before anyone is told "running" or sent a signal.
    """
    pid = read_pid_file(pid_file)
    if pid is None or not is_running(pid):
        return None
    return pid if marker(cmdline(pid)) else None


def start_detached(
    argv: Sequence[str], log_file: str, cwd: str | None = None, env: dict | None = None
) -> subprocess.Popen:
    """Start ``argv`` in its own session with its output in ``log_file`` (truncated first).

    The module exits right after, so the child must not hold Ansible's pipes open and must not
    die with the module's process group. The returned Popen lets the caller see an early exit
    code while it waits for the process to become ready.
    """
    log = open(log_file, "wb")
    try:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            close_fds=True,
            start_new_session=True,
        )
    except OSError as exc:
        raise ProcessError("cannot run %s: %s" % (argv[0], exc.strerror or exc)) from exc
    finally:
        log.close()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    # killpg also succeeds while only zombies are left; those are gone for our purposes
    return any(is_running(pid) for pid in _group_members(pgid))


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if len(fields) > 2 and fields[2] == str(pgid):
                members.append(int(entry))
    return members


def _wait(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.time() + timeout
    while True:
        if predicate():
            return True
        if time.time() >= deadline:
            return False
        time.sleep(interval)


def stop_process(pid: int, timeout: float, sig: int = signal.SIGTERM) -> str:
    """Send ``sig`` to ``pid`` and wait until it and its process group are gone.

    Returns how it ended: ``"exited"`` or ``"killed"`` (SIGKILL to the group after
    ``timeout`` seconds). Workers forked by the process share its group, so none are left.
    """
    own_group = _stat_fields(pid)[2:3] == [str(pid)]
    try:
        os.kill(pid, sig)
    except OSError as exc:
        if exc.errno == errno.ESRCH:
            return "exited"
        raise ProcessError("cannot signal process %d: %s" % (pid, exc.strerror)) from exc

    def gone() -> bool:
        return not (_group_alive(pid) if own_group else is_running(pid))

    if _wait(gone, timeout):
        return "exited"
    try:
        if own_group:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except OSError as exc:
        if exc.errno != errno.ESRCH:
            raise ProcessError("cannot kill process %d: %s" % (pid, exc.strerror)) from exc
    if not _wait(gone, 10):
        raise ProcessError("process %d is still running after SIGKILL" % pid)
    return "killed"


def log_tail(path: str, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file, for error messages ("" if unreadable)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 16384))
            data = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def port_in_use(host: str, port: int) -> bool:
    """True when ``host:port`` cannot be bound because something already listens there."""
    if port <= 0:
        return False
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        return exc.errno == errno.EADDRINUSE
    finally:
        sock.close()
    return False


def port_owner(port: int) -> str | None:
    """``"<name> (pid N)"`` of the process listening on TCP ``port``, when /proc tells us."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                next(handle)
                for line in handle:
                    fields = line.split()
                    local, state, inode = fields[1], fields[3], fields[9]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                        inodes.add("socket:[%s]" % inode)
        except (OSError, StopIteration, IndexError, ValueError):
            continue
    if not inodes:
        return None
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        if inodes.intersection(_socket_links(int(entry))):
            argv = cmdline(int(entry))
            return "%s (pid %s)" % (os.path.basename(argv[0]) if argv else "?", entry)
    return None


def _socket_links(pid: int) -> list[str]:
    """What the file descriptors of ``pid`` point at; fds that close while we look are skipped."""
    fd_dir = "/proc/%d/fd" % pid
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return []
    links = []
    for fd in fds:
        try:
            links.append(os.readlink(os.path.join(fd_dir, fd)))
        except OSError:
            continue
    return links


def describe_port_conflict(host: str, port: int, what: str) -> str:
    owner = port_owner(port)
    return "%s port %d on %s is already in use%s" % (what, port, host, " by %s" % owner if owner else "")
