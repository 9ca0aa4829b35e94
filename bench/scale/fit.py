#!/usr/bin/env python3
"""Print the sizes of a scale plan that fit this machine (for `make bench-scale`).

usage: fit.py "N:SERVERS:WORKERS" ...   A size fits with at most 12,500 nodes per core and ~120 KiB of memory per node
(nats-server ~90 KiB per connection after fan-outs, the emulator ~5 KiB, headroom). On a 2-core machine the plan also
gets 20,000 nodes on 2 servers: issue 16's 2-core goal is measured there.
"""

from __future__ import annotations

import os
import sys


def memory_kib() -> int:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 8 * 1024 * 1024


def main() -> None:
    cpus = os.cpu_count() or 1
    memory = memory_kib()
    plan = [size for arg in sys.argv[1:] for size in arg.split()]
    fits = [s for s in plan if int(s.split(":")[0]) <= 12_500 * cpus and int(s.split(":")[0]) * 120 <= memory]
    if cpus == 2 and not any(s.startswith("20000:") for s in fits):
        fits.append("20000:2:2")
    print(" ".join(fits))


if __name__ == "__main__":
    main()
