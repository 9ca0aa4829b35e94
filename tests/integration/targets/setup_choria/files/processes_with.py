"""Print the PIDs of live processes whose command line contains TEXT (like ``pgrep -f``, without procps)."""

from __future__ import annotations

import os
import sys


def live(pid: str) -> bool:
    try:
        with open("/proc/%s/stat" % pid) as handle:
            stat = handle.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] not in ("Z", "X")


def main(text: str) -> int:
    me = str(os.getpid())
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if pid != me and text in cmdline and live(pid):
            found.append(int(pid))
    for pid in sorted(found):
        print(pid)
    return 0 if found else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
