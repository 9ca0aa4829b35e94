"""Emulated Choria daemons: many instances per process, one NATS connection each."""

from .config import EmulatorConfig

__all__ = ["EmulatorConfig"]
