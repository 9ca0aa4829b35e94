"""The open-files limit of an emulator: every instance is one NATS connection, so one file per instance per worker.

A stock machine gives a login session a soft limit of 1024 and a much higher hard limit. Like
nats-server (Go raises it at start), the emulator raises its soft limit to the hard one before the
workers fork, says so in its log, and checks the instances per worker against the hard limit,
which only root (or ``LimitNOFILE=`` of a service, or ``open_files`` in Ansible) can raise.
"""

from __future__ import annotations

import logging
import resource


def _cap(hard: int) -> int:
    """An unlimited hard limit is capped by the kernel's ``fs.nr_open``."""
    if hard != resource.RLIM_INFINITY:
        return hard
    try:
        with open("/proc/sys/fs/nr_open") as handle:
            return int(handle.read())
    except (OSError, ValueError):
        return 1048576


def open_files_available() -> int:
    """How many files this process can have open once its soft limit is raised: the hard limit."""
    return _cap(resource.getrlimit(resource.RLIMIT_NOFILE)[1])


def raise_open_files(log: logging.Logger) -> int:
    """Raise the soft open-files limit to the hard one (workers inherit it); returns the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = _cap(hard)
    if soft >= target:
        log.debug("open files: the soft limit is already the hard limit, %d", soft)
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (OSError, ValueError) as exc:
        log.warning("open files: cannot raise the soft limit from %d to %d: %s", soft, target, exc)
        return soft
    log.info("open files: raised the soft limit from %d to %d (the hard limit)", soft, target)
    return target
