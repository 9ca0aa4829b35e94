"""``choria-emulator``: one command, a sub-command per capability.

Each sub-command lives in its own module exposing ``register(subparsers)``; add a module to
``COMMANDS`` to add a sub-command.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from .. import __version__
from .errors import CLIError, run_command

COMMANDS = ("emulate", "ping", "discover", "rpc", "federation", "measure", "nodes", "playbook", "scenario")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only``, just that sub-command is loaded (each pulls in its own libraries)."""
    parser = argparse.ArgumentParser(
        prog="choria-emulator",
        description="Emulate Choria/MCollective networks of tens of thousands of nodes and drive them.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        if only is None or name == only:
            importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return run_command(args)
    except CLIError as exc:
        print(f"choria-emulator {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
