"""Real parts for the scenario tests: nats-server on random ports and emulators with DDL agents."""

from __future__ import annotations
