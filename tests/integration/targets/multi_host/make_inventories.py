"""Write the multi_host inventories with free ports into WORK (and the URLs runme.sh checks)."""

from __future__ import annotations

import json
import random
import socket
import sys
import time
import urllib.request
from pathlib import Path


def free_ports(count: int) -> list:
    """COUNT distinct ports free now, taken below the kernel's ephemeral range.

    Ports the kernel hands out (bind to 0) are the ones the emulators' own outgoing connections
    use as source ports, so one of them could be taken before the playbook binds it; ports below
    ``ip_local_port_range`` are never handed out that way.
    """
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    candidates = list(range(max(1024, low - 12000), low))
    random.shuffle(candidates)
    ports: list = []
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise SystemExit("no %d free ports below %d" % (count, low))


def local(**hostvars) -> dict:
    return dict(ansible_connection="local", ansible_python_interpreter=sys.executable, **hostvars)


def main(work: Path) -> None:
    port, monitor, *emulator_ports = free_ports(5)
    one_broker = {
        "all": {
            "children": {
                "nats": {
                    "hosts": {
                        "broker": local(
                            ansible_host="127.0.0.1", nats_port=port, nats_monitor_port=monitor, nats_bind="127.0.0.1"
                        )
                    }
                },
                "emulators": {
                    "hosts": {
                        "emu%d" % (i + 1): local(emulator_monitor_port=emulator_ports[i], emulator_workers=1)
                        for i in range(3)
                    }
                },
            }
        }
    }
    (work / "one_broker.yml").write_text(json.dumps(one_broker, indent=2))
    (work / "one_broker.url").write_text("nats://127.0.0.1:%d\n" % port)

    p1, p2, m1, m2, c1, c2 = free_ports(6)

    def broker(name: str, client: int, mon: int, route: int, other: int) -> dict:
        return local(
            nats_name=name,
            nats_port=client,
            nats_monitor_port=mon,
            nats_bind="127.0.0.1",
            nats_cluster={"name": "multi", "port": route, "routes": ["127.0.0.1:%d" % other]},
        )

    cluster = {
        "all": {
            "children": {
                "nats": {"hosts": {"n1": broker("n1", p1, m1, c1, c2), "n2": broker("n2", p2, m2, c2, c1)}},
                "emulators": {
                    "hosts": {
                        "e1": local(emulator_servers="127.0.0.1:%d" % p1, emulator_monitor_port=0, emulator_workers=1),
                        "e2": local(emulator_servers="127.0.0.1:%d" % p2, emulator_monitor_port=0, emulator_workers=1),
                    }
                },
            }
        }
    }
    (work / "cluster.yml").write_text(json.dumps(cluster, indent=2))
    (work / "cluster.urls").write_text("nats://127.0.0.1:%d\nnats://127.0.0.1:%d\n" % (p1, p2))
    (work / "cluster.monitors").write_text("http://127.0.0.1:%d\nhttp://127.0.0.1:%d\n" % (m1, m2))


def wait_for_routes(monitors: Path, timeout: float = 15.0) -> None:
    """Until every broker listed in MONITORS reports a route to another (the cluster formed)."""
    deadline = time.monotonic() + timeout
    for url in monitors.read_text().split():
        while True:
            try:
                with urllib.request.urlopen(url + "/varz", timeout=2) as response:
                    if json.load(response).get("routes", 0) >= 1:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("%s has no route to the other broker after %s s" % (url, timeout))
            time.sleep(0.25)


if __name__ == "__main__":
    if sys.argv[1] == "--wait-for-routes":
        wait_for_routes(Path(sys.argv[2]))
    else:
        main(Path(sys.argv[1]))
