"""``choria-emulator emulate``: start N emulated Choria daemons (flags as the original, protocol.md §4.1)."""

from __future__ import annotations

import argparse
import logging
import os
import socket
from pathlib import Path

from ..choria_config import ConfigFileError
from ..daemon import limits, server_config
from ..daemon.config import NAME_FORMATS, EmulatorConfig, TLSFiles, max_workers
from ..daemon.facts import FactsError, FactsTemplate
from ..natsproto import parse_server
from .errors import CLIError

FD_HEADROOM = 200


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("emulate", help="start emulated Choria daemons", description=__doc__)
    p.add_argument("-i", "--instances", type=int, required=True, help="number of emulated daemons")
    p.add_argument("-a", "--agents", type=int, default=1, help="number of emulatedN agents (default 1)")
    p.add_argument(
        "--collectives",
        type=int,
        help="number of collectives: mcollective, collective1, ... (default: the -c file's collectives, else 1)",
    )
    p.add_argument("--name", help="instance name prefix (default: the -c file's identity, else the short hostname)")
    p.add_argument(
        "--name-format",
        choices=NAME_FORMATS,
        default="blog",
        help="blog: NAME-0..NAME-(N-1); e3: i-NAME-xxxxx.choria.local",
    )
    p.add_argument("--start-index", type=int, default=0, help="first instance number (to split one name across hosts)")
    p.add_argument(
        "--server",
        action="append",
        metavar="HOST:PORT",
        help="NATS server, repeatable or comma list; instances are spread across them",
    )
    p.add_argument(
        "-p",
        "--http-port",
        type=int,
        default=8080,
        help="port for /debug/vars and /metrics (0: any free port, -1: off)",
    )
    p.add_argument("--http-bind", default="127.0.0.1", help="address for the HTTP endpoint (default 127.0.0.1)")
    p.add_argument("--port-file", help="write the HTTP port to this file once listening")
    p.add_argument("--pid-file", help="write the emulator's PID here while it runs")
    p.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help="Choria server config (middleware hosts, TLS files, collectives, identity, credentials ...) as defaults "
        "for these flags, which override it; see docs/emulator.md",
    )
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes (default: CPU count)")
    p.add_argument("--tls", action="store_true", help="connect to NATS with TLS")
    p.add_argument("--verify", action="store_true", help="verify the broker's TLS certificate")
    p.add_argument("--tls-ca", help="CA bundle for --verify")
    p.add_argument("--tls-cert", help="client certificate for TLS")
    p.add_argument("--tls-key", help="client key for TLS")
    p.add_argument("--secure", action="store_true", help="require signed requests (x509, verified against --ca)")
    p.add_argument("--ca", help="CA that signs client certificates, for --secure")
    p.add_argument(
        "--allowed-callers",
        action="append",
        metavar="REGEX",
        help=r"certname pattern allowed with --secure (default \.mcollective$ and \.choria$, as go-choria)",
    )
    p.add_argument("--credentials", help="NATS credentials (.creds) file")
    p.add_argument("--facts", help="YAML/JSON facts template with per-instance variation (see docs/emulator.md)")
    p.add_argument("--audit", metavar="PATTERN", help="JSON audit log per RPC request; %%s = instance identity")
    p.add_argument(
        "--registration-interval",
        type=float,
        metavar="S",
        help="publish registration messages every S seconds (0: off; default: the -c file's registerinterval, else 0)",
    )
    p.add_argument("--registration-size", type=int, default=1024, metavar="BYTES", help="registration payload size")
    p.add_argument("--stats-file", help="write aggregated counters as JSON to this file every --stats-interval seconds")
    p.add_argument(
        "--stats-interval",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds between two writes of --stats-file (default 5)",
    )
    p.add_argument(
        "--ddl",
        action="append",
        metavar="FILE_OR_DIR",
        help="serve the agents of these go-choria JSON DDLs (a file, a directory of *.json, or a shipped "
        "agent's name: puppet, service, package, nrpe, haproxy, appmgr); repeatable",
    )
    p.add_argument(
        "--scenario",
        metavar="FILE",
        help="behaviour of the DDL agents (docs/scenarios.md), or a shipped scenario's name (puppet, blue-green, ...)",
    )
    p.add_argument("--seed", type=int, help="seed of every random choice of the scenario (default: its own seed)")
    p.add_argument(
        "--lifecycle", action="store_true", help="publish go-choria lifecycle events: startup, alive, shutdown"
    )
    p.add_argument(
        "--lifecycle-interval",
        type=float,
        default=3600.0,
        metavar="S",
        help="seconds between two alive events of an instance (default 3600, as go-choria)",
    )
    p.add_argument(
        "--lifecycle-format",
        choices=("cloudevent", "choria"),
        default="cloudevent",
        help="cloudevent (go-choria's default) or choria (its legacy format)",
    )
    p.add_argument("--connect-concurrency", type=int, default=256, help="connections each worker opens at once")
    p.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default="auto", help="event loop for the workers")
    p.set_defaults(func=run)


def _server_settings(args: argparse.Namespace) -> server_config.ServerSettings:
    """The -c file's settings (all empty without -c); flags given on the command line override them."""
    if not args.config:
        return server_config.ServerSettings()
    try:
        return server_config.load(args.config)
    except ConfigFileError as exc:
        raise CLIError(f"-c: {exc}", exit_code=2) from None


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    settings = _server_settings(args)
    servers = []
    for entry in args.server or settings.servers or ["127.0.0.1:4222"]:
        for item in entry.split(","):
            if item.strip():
                try:
                    servers.append(parse_server(item))
                except ValueError as exc:
                    what = "bad --server" if args.server else f"{args.config}: plugin.choria.middleware_hosts"
                    raise CLIError(f"{what}: {exc}", exit_code=2) from None
    plugins, ddl_paths, scenario_path = _scenario_plugins(args)
    wants_tls = args.tls or args.verify or settings.tls or any(server.tls for server in servers)  # tls:// implies --tls
    tls = None
    if wants_tls:
        tls = TLSFiles(
            args.tls_ca or settings.tls_ca,
            args.tls_cert or settings.tls_cert,
            args.tls_key or settings.tls_key,
            args.verify or settings.tls,  # a server config's certificates are verified, as go-choria does
        )
    collective_names: tuple[str, ...] = ()
    if args.collectives is None and settings.collectives:
        collective_names = tuple(settings.collectives)
    allowed_callers = args.allowed_callers or settings.allowed_callers
    registration_interval = args.registration_interval
    if registration_interval is None:
        registration_interval = settings.registration_interval or 0.0
    try:
        config = EmulatorConfig(
            instances=args.instances,
            name=args.name or settings.identity or socket.gethostname().split(".")[0],
            servers=servers,
            agents=args.agents,
            collectives=args.collectives if args.collectives is not None else 1,
            collective_names=collective_names,
            http_port=args.http_port,
            http_bind=args.http_bind,
            workers=args.workers,
            tls=tls,
            secure=args.secure,
            ca=args.ca,
            allowed_callers=tuple(allowed_callers) if allowed_callers else None,
            credentials=args.credentials or settings.credentials,
            facts=args.facts or settings.facts,
            audit=args.audit,
            registration_interval=registration_interval,
            registration_size=args.registration_size,
            stats_file=args.stats_file,
            stats_interval=args.stats_interval,
            name_format=args.name_format,
            connect_concurrency=args.connect_concurrency,
            start_index=args.start_index,
            loop=args.loop,
            port_file=args.port_file,
            plugins=tuple(plugins),
            ddl=tuple(ddl_paths),
            scenario=scenario_path,
            seed=args.seed,
            lifecycle=args.lifecycle,
            lifecycle_interval=args.lifecycle_interval,
            lifecycle_format=args.lifecycle_format,
        )
        FactsTemplate.load(config.facts)  # fail now, not in every worker
        config.connect_options()  # TLS files and NATS credentials load, or fail here
    except (ValueError, FactsError, OSError) as exc:
        raise CLIError(str(exc), exit_code=2) from None
    if args.pid_file and not Path(args.pid_file).parent.is_dir():
        raise CLIError(f"--pid-file: directory {Path(args.pid_file).parent} does not exist", exit_code=2)
    per_worker = -(-config.instances // config.workers)
    limit = limits.open_files_available()  # run() raises the soft limit to this before any worker starts
    if per_worker + FD_HEADROOM > limit:
        raise CLIError(fd_limit_error(config.instances, per_worker, limit), exit_code=2)
    return config


def fd_limit_error(instances: int, per_worker: int, limit: int) -> str:
    """What to do when a worker would need more sockets than a process may open: more workers
    only where that stays sane (at most max_workers()), else a higher hard open-files limit."""
    needed = f"{per_worker} instances per worker need more than the {limit} open files a process may have"
    raise_limit = (
        "raise the hard open-files limit (ulimit -Hn; LimitNOFILE= for a service; open_files in Ansible) "
        f"to at least {per_worker + FD_HEADROOM}"
    )
    usable = limit - FD_HEADROOM
    workers = -(-instances // usable) if usable > 0 else 0
    if 0 < workers <= max_workers():
        return f"{needed}; use --workers {workers} or more, or {raise_limit}"
    return f"{needed}; {raise_limit}"


def _scenario_plugins(args: argparse.Namespace) -> tuple[list, list[str], str | None]:
    """The DDL agents of ``--ddl``/``--scenario``, loaded and checked before anything starts."""
    if not args.ddl and not args.scenario:
        if args.seed is not None:
            raise CLIError("--seed needs --scenario", exit_code=2)
        return [], [], None
    from ..ddl.agent import DDLError, load_paths
    from ..scenario import Scenario, ScenarioError
    from ..scenario.agents import build_agents
    from ..scenario.library import resolve_ddl, resolve_scenario

    ddl_paths = [resolve_ddl(value) for value in args.ddl or []]
    scenario_path = resolve_scenario(args.scenario) if args.scenario else None
    try:
        ddls = load_paths(ddl_paths)
        scenario = Scenario.load(scenario_path, ddls) if scenario_path else None
    except (DDLError, ScenarioError) as exc:
        raise CLIError(str(exc), exit_code=2) from None
    agents, _runtime = build_agents(ddls, scenario, args.seed)
    return agents, ddl_paths, scenario_path


def run(args: argparse.Namespace) -> int:
    from ..daemon.supervisor import EmulatorSetupError
    from ..daemon.supervisor import run as run_supervisor

    config = config_from_args(args)
    limits.raise_open_files(logging.getLogger("choria_emulator.emulate"))
    try:
        return run_supervisor(config, pid_file=args.pid_file)
    except EmulatorSetupError as exc:
        raise CLIError(str(exc), exit_code=2) from None
