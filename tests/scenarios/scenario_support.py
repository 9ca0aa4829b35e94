"""Paths and small helpers shared by the scenario tests."""

from __future__ import annotations

from pathlib import Path

import choria_emulator

HERE = Path(__file__).resolve().parent
SCHEMAS = HERE / "schemas"
LIBRARY = Path(choria_emulator.__file__).resolve().parent / "scenario" / "library"
LIBRARY_DDL = LIBRARY / "ddl"
LIBRARY_RUBY = LIBRARY / "ruby"
PLAYBOOKS = LIBRARY / "playbooks"
REPO = HERE.parent.parent
