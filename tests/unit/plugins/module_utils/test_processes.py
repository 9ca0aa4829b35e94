# Copyright: chorialab
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

import os
import signal
import socket
import sys
import time

from ansible_collections.chorialab.choria.plugins.module_utils.processes import (
    cmdline,
    describe_port_conflict,
    find_process,
    is_running,
    log_tail,
    port_in_use,
    read_pid_file,
    start_detached,
    start_time,
    stop_process,
    write_pid_file,
)

# A parent that ignores SIGTERM and forks a child that does too: stop_process must kill both.
STUBBORN = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = os.fork()
if child == 0:
    time.sleep(120)
    os._exit(0)
open(sys.argv[1], "w").write(str(child))
time.sleep(120)
"""


def wait_for(predicate, timeout=10.0):
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def test_pid_files_round_trip_and_tolerate_garbage(tmp_path):
    path = tmp_path / "x.pid"
    assert read_pid_file(str(path)) is None
    write_pid_file(str(path), 4242)
    assert read_pid_file(str(path)) == 4242
    path.write_text("not a pid\n")
    assert read_pid_file(str(path)) is None


def test_is_running_knows_live_dead_and_zombie_processes():
    assert is_running(os.getpid())
    assert not is_running(None) and not is_running(0)
    child = os.fork()
    if child == 0:
        os._exit(0)
    wait_for(lambda: not is_running(child))  # exited but not reaped yet: a zombie counts as gone
    assert os.path.exists("/proc/%d" % child)
    os.waitpid(child, 0)
    assert not is_running(child)


def test_start_detached_runs_in_its_own_session_with_output_in_the_log(tmp_path):
    log = tmp_path / "out.log"
    log.write_text("old run\n")
    process = start_detached(
        [sys.executable, "-c", "print('hello from the daemon', flush=True); import time; time.sleep(60)"], str(log)
    )
    try:
        assert os.getsid(process.pid) == process.pid
        wait_for(lambda: "hello from the daemon" in log.read_text())
        assert "old run" not in log.read_text()
        assert start_time(process.pid) <= time.time()
        assert cmdline(process.pid)[:2] == [sys.executable, "-c"]
        assert stop_process(process.pid, 5) == "exited"
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(5)


def test_stop_process_kills_the_whole_group_after_the_timeout(tmp_path):
    child_file = tmp_path / "child.pid"
    process = start_detached([sys.executable, "-c", STUBBORN, str(child_file)], str(tmp_path / "log"))
    wait_for(lambda: child_file.exists() and child_file.read_text())
    child = int(child_file.read_text())
    started = time.time()
    assert stop_process(process.pid, 0.5) == "killed"
    assert time.time() - started < 10
    process.wait(5)
    wait_for(lambda: not is_running(child))


def test_find_process_checks_the_command_line(tmp_path):
    pid_file = tmp_path / "me.pid"
    write_pid_file(str(pid_file), os.getpid())
    assert find_process(str(pid_file), lambda argv: argv[0] == cmdline(os.getpid())[0]) == os.getpid()
    assert find_process(str(pid_file), lambda argv: "nats-server" in argv) is None  # a reused PID is not ours
    assert find_process(str(tmp_path / "missing.pid"), lambda argv: True) is None


def test_port_in_use_and_who_holds_it():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert port_in_use("127.0.0.1", port)
        message = describe_port_conflict("127.0.0.1", port, "client")
        assert message.startswith("client port %d on 127.0.0.1 is already in use by " % port)
        assert "(pid %d)" % os.getpid() in message
    assert not port_in_use("127.0.0.1", port)
    assert not port_in_use("127.0.0.1", -1)


def test_log_tail_returns_the_last_lines(tmp_path):
    log = tmp_path / "big.log"
    log.write_text("".join("line %d\n" % i for i in range(5000)))
    assert log_tail(str(log), 3) == "line 4997\nline 4998\nline 4999"
    assert log_tail(str(tmp_path / "missing.log")) == ""


def test_stop_process_on_a_gone_pid_reports_exited():
    child = os.fork()
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)
    assert stop_process(child, 1, signal.SIGTERM) == "exited"
