"""The shipped library: real agents' DDLs, this project's haproxy/appmgr, their scenarios and the rehearsal's playbooks.

``--ddl puppet`` and ``--scenario blue-green`` name library entries when no such file exists,
so the common cases need no paths; ``choria-emulator scenario path`` prints where they live.
"""

from __future__ import annotations

from pathlib import Path

LIBRARY = Path(__file__).resolve().parent / "library"
DDL_DIR = LIBRARY / "ddl"
RUBY_DIR = LIBRARY / "ruby"  # a libdir for the Ruby mco: mcollective/agent/*.ddl, validators, aggregates
PLAYBOOK_DIR = LIBRARY / "playbooks"


def ddl_names() -> list[str]:
    return sorted(p.stem for p in DDL_DIR.glob("*.json"))


def scenario_names() -> list[str]:
    return sorted(p.stem for p in LIBRARY.glob("*.yaml"))


def resolve_ddl(value: str) -> str:
    """A ``--ddl`` value: an existing file or directory, else the library DDL of that name."""
    if Path(value).exists() or "/" in value:
        return value
    candidate = DDL_DIR / f"{value}.json"
    if candidate.is_file():
        return str(candidate)
    if value == "library":
        return str(DDL_DIR)
    return value  # load_paths reports it as missing


def resolve_scenario(value: str) -> str:
    """A ``--scenario`` value: an existing file, else the library scenario of that name."""
    if Path(value).exists() or "/" in value:
        return value
    candidate = LIBRARY / f"{value}.yaml"
    return str(candidate) if candidate.is_file() else value
