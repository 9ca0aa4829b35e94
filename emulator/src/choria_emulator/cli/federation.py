"""``choria-emulator federation``: a Choria Federation Broker joining a federation network to collectives.

Clients publish with ``--federation NET`` to ``choria.federation.NET.federation`` on the
federation servers; the broker republishes to the targets on the collective servers and relays
every reply back. ``--collective-server`` takes a comma list (a server pool of one collective
network, like the original ``start_federation`` agent action); repeat it to bridge several
collective networks with one broker.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
from pathlib import Path

from ..client import ClientConfig
from ..daemon.http import HTTPServer
from ..federation import FederationBroker
from .errors import CLIError

log = logging.getLogger("choria_emulator.federation")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("federation", help="run a Choria Federation Broker", description=__doc__)
    p.add_argument(
        "--name", required=True, metavar="NET", help="federation network name (clients use --federation NET)"
    )
    p.add_argument(
        "--federation-server",
        action="append",
        required=True,
        metavar="HOST:PORT",
        help="NATS server(s) of the federation side (repeatable or comma list: one pool)",
    )
    p.add_argument(
        "--collective-server",
        action="append",
        required=True,
        metavar="HOST:PORT[,HOST:PORT]",
        help="NATS server pool of a collective network; repeat for more collective networks",
    )
    p.add_argument(
        "--identity", default=socket.gethostname(), help="broker identity in metrics and seen-by (default: hostname)"
    )
    p.add_argument("--tls", action="store_true", help="connect to NATS with TLS (both sides)")
    p.add_argument(
        "--no-verify", dest="tls_verify", action="store_false", help="do not verify the brokers' TLS certificates"
    )
    p.add_argument("--tls-ca", metavar="FILE")
    p.add_argument("--tls-cert", metavar="FILE")
    p.add_argument("--tls-key", metavar="FILE")
    p.add_argument("--credentials", metavar="FILE", help="NATS credentials (.creds) file (both sides)")
    p.add_argument(
        "-p",
        "--http-port",
        type=int,
        default=-1,
        help="port for /debug/vars and /metrics (0: any free port, -1: off, the default)",
    )
    p.add_argument("--http-bind", default="127.0.0.1", help="address for the HTTP endpoint (default 127.0.0.1)")
    p.add_argument("--port-file", help="write the HTTP port to this file once listening")
    p.add_argument("--pid-file", help="write the broker's PID here while it runs")
    p.set_defaults(func=run)


def _side(servers: list[str], args: argparse.Namespace) -> ClientConfig:
    return ClientConfig.load(
        servers=servers,
        search_default_files=False,
        identity=args.identity,
        tls=args.tls or None,
        tls_verify=args.tls_verify,
        tls_ca=args.tls_ca,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        credentials=args.credentials,
    )


def build_broker(args: argparse.Namespace) -> FederationBroker:
    federation = _side(args.federation_server, args)
    collectives = [_side([entry], args) for entry in args.collective_server]
    if args.tls:
        federation.ssl_context()  # unreadable CA/cert files fail here, once, with the file named
    return FederationBroker(args.name, federation, collectives, identity=args.identity)


def run(args: argparse.Namespace) -> int:
    try:
        broker = build_broker(args)
    except (ValueError, OSError) as exc:
        raise CLIError(str(exc), exit_code=2) from None
    return asyncio.run(_serve(broker, args))


async def _serve(broker: FederationBroker, args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    http = HTTPServer(
        {
            "/debug/vars": lambda: ("application/json", broker.debug_vars()),
            "/metrics": lambda: ("text/plain; version=0.0.4", broker.metrics().encode()),
        }
    )
    if args.http_port >= 0:
        try:
            port = await http.start(args.http_bind, args.http_port)
        except OSError as exc:
            raise CLIError(
                f"cannot listen on {args.http_bind}:{args.http_port} for /debug/vars: {exc.strerror}", exit_code=2
            ) from None
        log.info("serving /debug/vars and /metrics on http://%s:%d", args.http_bind, port)
        if args.port_file:
            Path(args.port_file).write_text(f"{port}\n")
    if args.pid_file:
        Path(args.pid_file).write_text(f"{os.getpid()}\n")
    try:
        await broker.run(stop)
    finally:
        await http.close()
        if args.pid_file:
            Path(args.pid_file).unlink(missing_ok=True)
    log.info("federation broker %s stopped: %s", broker.name, broker.status())
    return 0
