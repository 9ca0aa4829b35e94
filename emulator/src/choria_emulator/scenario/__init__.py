"""Scenarios: scripted behaviour for agents emulated from their DDLs (docs/scenarios.md).

A scenario file says, per agent and action and optionally per node group, what the reply data
is, how long a node takes, how often it fails or stays silent, which per-node state an action
reads and writes, and how nodes churn. :mod:`.model` loads and checks the file, :mod:`.engine`
runs it inside a worker on the worker's one timer heap and per-worker state arrays
(:mod:`.state`); every draw is a hash of the seed, so a run is repeatable under ``--seed``.
"""

from __future__ import annotations

from .errors import ScenarioError
from .model import Scenario

__all__ = ["Scenario", "ScenarioError"]
