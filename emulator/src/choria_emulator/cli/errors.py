"""Errors as one line: what every sub-command raises and how ``main`` reports it.

Kept free of the client and daemon imports, so ``choria-emulator emulate`` does not load
nats-py into the process its workers are forked from.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import ChoriaEmulatorError


class CLIError(Exception):
    """An error the user can act on: printed as one line, then exit with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def run_command(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # `choria-emulator discover | head -1`: the reader left; stop quietly like other Unix tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (ChoriaEmulatorError, ValueError, OSError) as exc:  # ProtocolError and ClientConfigError are ValueErrors
        raise CLIError(str(exc)) from None
