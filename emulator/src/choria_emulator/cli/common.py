"""What the client sub-commands share: connection flags, filter flags, errors as one line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import sys
from collections.abc import Awaitable
from typing import Any, Callable, TypeVar

from ..client import ChoriaClient, ClientConfig, ReplyRecord
from ..client.collectors import MAX_COLLECTORS
from ..protocol import FactFilter, Filter, ProtocolError
from .errors import CLIError

T = TypeVar("T")


def add_client_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--server",
        "-s",
        action="append",
        metavar="HOST:PORT",
        help="NATS server (repeatable, or a comma list); default: the config file, else nats://127.0.0.1:4222",
    )
    group.add_argument(
        "--config",
        metavar="FILE",
        help="Choria client config (default $CHORIA_CONFIG, ~/.choriarc, then /etc/choria/client.conf)",
    )
    group.add_argument(
        "--collective", "-T", metavar="NAME", help="sub-collective to address (default: the main collective)"
    )
    group.add_argument("--identity", metavar="NAME", help="client identity (senderid)")
    group.add_argument("--certname", metavar="NAME", help="certname used in the callerid choria=<certname>")
    group.add_argument("--tls", action="store_true", default=None, help="connect to NATS with TLS")
    group.add_argument(
        "--no-verify",
        dest="tls_verify",
        action="store_false",
        default=None,
        help="do not verify the broker's TLS certificate",
    )
    group.add_argument(
        "--tls-ca", metavar="FILE", help="CA that signed the broker's certificate (default: the system CAs)"
    )
    group.add_argument(
        "--tls-cert", metavar="FILE", help="client certificate (TLS client auth, and signing with --secure)"
    )
    group.add_argument("--tls-key", metavar="FILE", help="key of --tls-cert")
    group.add_argument("--secure", action="store_true", default=None, help="sign requests with --tls-cert/--tls-key")
    group.add_argument("--credentials", metavar="FILE", help="NATS credentials (.creds) file")
    group.add_argument(
        "--federation",
        metavar="NETWORK",
        help="send through the Federation Broker(s) of NETWORK (comma list for several)",
    )
    group.add_argument(
        "--collectors",
        type=int,
        default=None,
        metavar="N",
        help="processes that share the replies (a NATS queue group): for more than ~60,000 fully decoded "
        "replies a second, or to keep each connection under the broker's max_pending (default 1)",
    )


def add_filter_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters (as mco/choria)")
    group.add_argument(
        "-I",
        "--identity-filter",
        "--wi",
        dest="identity_filter",
        action="append",
        default=[],
        metavar="ID",
        help="identity, exact or /regex/ (OR)",
    )
    group.add_argument(
        "-A",
        "--agent-filter",
        "--wa",
        dest="agent_filter",
        action="append",
        default=[],
        metavar="AGENT",
        help="agent the node must have (AND)",
    )
    group.add_argument(
        "-C",
        "--class-filter",
        "--wc",
        dest="class_filter",
        action="append",
        default=[],
        metavar="CLASS",
        help="class, exact or /regex/ (AND)",
    )
    group.add_argument(
        "-F",
        "--fact-filter",
        "--wf",
        dest="fact_filter",
        action="append",
        default=[],
        metavar="FACT",
        help="fact: key=value, key=/re/, key>=1 ... (AND)",
    )
    group.add_argument(
        "-S",
        "--select",
        dest="compound_filter",
        action="append",
        default=[],
        metavar="EXPR",
        help='compound expression, e.g. \'with("apache") and facts.country == "mt"\'',
    )


def filter_from_args(args: argparse.Namespace) -> Filter:
    """The filter the flags describe, checked before connecting: a bad one is a one-line error (exit 2)."""
    try:
        filt = Filter(
            fact=[FactFilter.parse(f) for f in args.fact_filter],
            cf_class=list(args.class_filter),
            agent=list(args.agent_filter),
            identity=list(args.identity_filter),
            compound=[[{"expr": e}] for e in args.compound_filter],
        )
        filt.check()
    except ProtocolError as exc:
        raise CLIError(str(exc), exit_code=2) from None
    return filt


def check_seconds(flag: str, value: float | None, *, zero_ok: bool = False) -> None:
    """A duration flag must be a finite number (NaN would wait forever), positive unless ``zero_ok``."""
    if value is None:
        return
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        kind = "non-negative" if zero_ok else "positive"
        raise CLIError(f"{flag} must be a {kind} number of seconds, got {value}", exit_code=2)


def check_count(flag: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise CLIError(f"{flag} must be at least 1, got {value}", exit_code=2)


def client_config(args: argparse.Namespace) -> ClientConfig:
    check_count("--collectors", args.collectors)
    if args.collectors is not None and args.collectors > MAX_COLLECTORS:
        raise CLIError(f"--collectors must be at most {MAX_COLLECTORS}, got {args.collectors}", exit_code=2)
    return ClientConfig.load(
        servers=args.server,
        config_file=args.config,
        identity=args.identity,
        certname=args.certname,
        tls=args.tls,
        tls_verify=args.tls_verify,
        tls_ca=args.tls_ca,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        secure=args.secure,
        credentials=args.credentials,
        collectors=args.collectors,
    )


def with_client(args: argparse.Namespace, call: Callable[[ChoriaClient], Awaitable[Any]]) -> Any:
    config = client_config(args)
    logging.getLogger("choria_emulator.cli").debug(
        "connecting to %s (settings from %s)", ", ".join(config.servers), config.source
    )

    async def main() -> Any:
        async with ChoriaClient(config) as client:
            return await call(client)

    return asyncio.run(main())


def with_progress(
    args: argparse.Namespace,
    total: int | None,
    label: str,
    request: Callable[[ChoriaClient, Callable[[ReplyRecord], None] | None], Awaitable[T]],
) -> T:
    """Connect as ``args`` say and run ``request(client, on_reply)`` under a progress bar of its replies.

    Without a terminal there is no bar and ``on_reply`` is None: nothing is done per reply.
    """

    async def call(client: ChoriaClient) -> T:
        with progress(total, label) as shown:
            on_reply = (lambda record: shown.advance()) if isinstance(shown, _RichProgress) else None
            return await request(client, on_reply)

    return with_client(args, call)


def progress(total: int | None, label: str) -> Any:
    """A rich progress bar on stderr when it is a terminal, else a no-op."""
    if not sys.stderr.isatty():
        return _NoProgress()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    display = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True, console=_console()
    )
    return _RichProgress(display, total)


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


class _NoProgress:
    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def advance(self, n: int = 1) -> None:
        return None


class _RichProgress:
    def __init__(self, display: Any, total: int | None):
        self.display = display
        self.total = total

    def __enter__(self) -> _RichProgress:
        self.display.__enter__()
        self.task = self.display.add_task("", total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        self.display.__exit__(*exc)

    def advance(self, n: int = 1) -> None:
        self.display.advance(self.task, n)
