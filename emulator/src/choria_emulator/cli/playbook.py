"""``choria-emulator playbook run|validate|show|convert``: Choria YAML playbooks (mcollective-choria 0.6.0).

``run FILE [options] [--<input> VALUE ...]``: the playbook's inputs become options after FILE
(``playbook run FILE --help`` lists them), as ``mco playbook run`` did.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..playbook import Playbook, PlaybookError, PlaybookInvalid, RunOptions, summary
from ..playbook.inputs import CLIOption
from ..playbook.lint import lint
from ..playbook.report import to_jsonable
from ..playbook.yamlload import load_yaml, plain
from .common import CLIError, add_client_options, client_config


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("playbook", help="run, check, show or convert a Choria YAML playbook", description=__doc__)
    actions = p.add_subparsers(dest="playbook_command", metavar="ACTION", required=True)

    run_p = actions.add_parser("run", help="run a playbook against the Choria network", add_help=False)
    run_p.add_argument(
        "-h", "--help", dest="show_help", action="store_true", help="show help (with FILE: including its inputs)"
    )
    run_p.add_argument("file", metavar="FILE", nargs="?")
    run_p.add_argument("rest", nargs=argparse.REMAINDER)
    run_p.set_defaults(func=run)

    validate_p = actions.add_parser("validate", help="check a playbook without running it")
    validate_p.add_argument("file", metavar="FILE")
    validate_p.set_defaults(func=validate)

    show_p = actions.add_parser("show", help="print a playbook's inputs, node sets, stores and tasks")
    show_p.add_argument("file", metavar="FILE")
    show_p.add_argument("--json", action="store_true", help="print as JSON")
    show_p.set_defaults(func=show)

    convert_p = actions.add_parser("convert", help="write the equivalent Ansible playbook")
    convert_p.add_argument("file", metavar="FILE")
    convert_p.add_argument(
        "-o", "--output", required=True, metavar="SITE.YML", help="where to write the Ansible playbook"
    )
    convert_p.add_argument(
        "--survey",
        nargs="?",
        const="",
        metavar="FILE",
        help="also write an AWX survey spec (default: <output>.survey.json)",
    )
    convert_p.add_argument(
        "--hosts", default="localhost", help="the play's hosts (default localhost; tasks run on the controller)"
    )
    convert_p.set_defaults(func=convert)


# -- run ------------------------------------------------------------------------------------
def run_parser(book: Playbook | None, prog: str) -> tuple[argparse.ArgumentParser, list[CLIOption]]:
    parser = argparse.ArgumentParser(
        prog=prog, description="Run a Choria YAML playbook. Inputs of the playbook are options too.", add_help=False
    )
    parser.add_argument(
        "--input-file",
        action="append",
        default=[],
        metavar="FILE",
        help="JSON or YAML mapping of input values (merged over the flags; repeatable)",
    )
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="JSON|@FILE",
        help="input values as a JSON mapping or @file.json/@file.yaml (0.6.0's --input)",
    )
    parser.add_argument(
        "--report", metavar="FILE", help="write the report here (.json: JSON, else YAML); never overwrites"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON on stdout instead of the summary")
    parser.add_argument(
        "--loglevel", choices=("debug", "info", "warn", "error", "fatal"), help="override the playbook's loglevel"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="same as --loglevel debug")
    parser.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="seconds to wait for RPC replies (default 10)"
    )
    parser.add_argument("--discovery-timeout", type=float, metavar="S", help="seconds to wait for discovery replies")
    parser.add_argument(
        "--slack-api", metavar="URL", help="Slack Web API base URL (default $CHORIA_SLACK_API or https://slack.com/api)"
    )
    parser.add_argument(
        "--puppetdb",
        metavar="URL",
        help="PuppetDB for pql/choria node sets (default $PUPPETDB_SERVER_URLS or the Choria config)",
    )
    parser.add_argument(
        "--ddl-path",
        action="append",
        default=[],
        metavar="DIR",
        help="directory of agent JSON DDLs for the uses check (repeatable)",
    )
    parser.add_argument("-h", "--help", action="help", help="show this help, including the playbook's inputs")
    add_client_options(parser)
    options: list[CLIOption] = []
    if book is not None:
        group = parser.add_argument_group(f"inputs of {book.metadata.get('name') or 'the playbook'}")
        taken = {opt for action in parser._actions for opt in action.option_strings}
        for option in book.inputs.cli_options():
            if option.flag in taken:
                print(
                    f"warning: input {option.input} cannot be given as {option.flag}, which is a playbook run option; "
                    "use --input-file",
                    file=sys.stderr,
                )
                continue
            kwargs: dict[str, Any] = {"dest": f"input__{option.input}", "help": option.help, "default": None}
            if option.kind == "Boolean":
                group.add_argument(option.flag, action="store_const", const=True, **kwargs)
            elif option.kind == "Array":
                group.add_argument(option.flag, action="append", metavar=option.metavar, **kwargs)
            else:
                group.add_argument(option.flag, type=_CONVERTERS[option.kind], metavar=option.metavar, **kwargs)
            options.append(option)
    return parser, options


def _numeric(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


_CONVERTERS = {"String": str, "Integer": int, "Float": float, "Numeric": _numeric}


def read_input_file(path: str) -> dict[str, Any]:
    try:
        text = Path(path).expanduser().read_text()
    except OSError as exc:
        raise CLIError(f"cannot read input file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.endswith(".json") else load_yaml(text)
    except ValueError as exc:
        raise CLIError(f"input file {path} is not valid JSON: {exc}") from None
    except Exception as exc:  # yaml.YAMLError and friends: one line for the user
        raise CLIError(f"input file {path} is not valid YAML: {' '.join(str(exc).split())}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CLIError(f"input file {path} must hold a mapping of input names to values")
    return plain(data)


def gather_inputs(args: argparse.Namespace, options: list[CLIOption]) -> dict[str, Any]:
    values = {
        o.input: getattr(args, f"input__{o.input}") for o in options if getattr(args, f"input__{o.input}") is not None
    }
    for path in args.input_file:
        values.update(read_input_file(path))
    for item in args.input:
        if item.startswith("@"):
            values.update(read_input_file(item[1:]))
            continue
        try:
            data = json.loads(item)
        except ValueError as exc:
            raise CLIError(f"--input must be a JSON mapping or @file: {exc}") from None
        if not isinstance(data, dict):
            raise CLIError("--input must be a JSON mapping of input names to values")
        values.update(data)
    return values


def _load(path: str, options: RunOptions | None = None) -> Playbook:
    try:
        return Playbook.load(path, options)
    except PlaybookError as exc:
        raise CLIError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    prog = "choria-emulator playbook run"
    if not args.file:
        run_parser(None, f"{prog} FILE")[0].print_help()
        return 0 if args.show_help else 2
    if args.show_help:
        args.rest = ["--help", *args.rest]
    book = _load(args.file, RunOptions(quiet=True))
    try:
        parser, options = run_parser(book, f"{prog} {args.file}")
    except PlaybookError as exc:
        raise CLIError(str(exc)) from None
    opts = parser.parse_args(args.rest)
    if opts.report and Path(opts.report).exists():
        raise CLIError(f"Could not write report the file {opts.report}: it already exists")
    inputs = gather_inputs(opts, options)
    from ..nodesets import PuppetDBConfig, PuppetDBError

    config = client_config(opts)
    try:
        puppetdb = PuppetDBConfig.from_options({"server_urls": opts.puppetdb}, config) if opts.puppetdb else None
    except PuppetDBError as exc:
        raise CLIError(str(exc)) from None
    run_options = RunOptions(
        client=config,
        puppetdb=puppetdb,
        slack_api=opts.slack_api,
        loglevel="debug" if opts.verbose else opts.loglevel,
        discovery_timeout=opts.discovery_timeout,
        rpc_timeout=opts.timeout,
        collective=opts.collective,
        extra={"ddl_path": opts.ddl_path},
    )
    book = _load(args.file, run_options)
    try:
        report = book.run(inputs)
    except PlaybookInvalid as exc:
        raise CLIError("Playbook is not in a valid format:\n  " + "\n  ".join(exc.problems)) from None
    if opts.report:
        write_report(opts.report, report)
    if opts.json:
        print(json.dumps(to_jsonable(report), indent=2))
    else:
        print()
        print(summary(report))
    return 0 if report["report"]["success"] else 1


def write_report(path: str, report: dict[str, Any]) -> None:
    import yaml

    data = to_jsonable(report)
    text = (
        json.dumps(data, indent=2)
        if path.endswith(".json")
        else yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    )
    try:
        with open(path, "x") as handle:
            handle.write(text)
    except FileExistsError:
        raise CLIError(f"Could not write report the file {path}: it already exists") from None
    except OSError as exc:
        raise CLIError(f"Could not write report the file {path}: {exc.strerror}") from None


# -- validate / show ------------------------------------------------------------------------
def checked(path: str) -> tuple[Playbook, int]:
    """The playbook and ``playbook validate``'s verdict: warnings and errors on stderr, 1 when it is invalid."""
    book = _load(path, RunOptions(quiet=True))
    errors, warnings = lint(book)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not errors:
        return book, 0
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    print(
        f"{path}: Playbook is not in a valid format ({len(errors)} problem{'s' if len(errors) > 1 else ''})",
        file=sys.stderr,
    )
    return book, 1


def validate(args: argparse.Namespace) -> int:
    book, status = checked(args.file)
    if status:
        return status
    described = book.describe()
    tasks = sum(len(t) for t in described["tasks"].values())
    counts = f"{len(described['inputs'])} input(s), {len(described['nodes'])} node set(s), {tasks} task(s)"
    print(f"{args.file}: valid playbook {book.metadata['name']} {book.metadata['version']}: {counts}")
    return 0


def input_kind(props: dict[str, Any]) -> str:
    if props.get("dynamic"):
        return "dynamic"
    if props.get("data"):
        return "data-backed"
    return "required" if props.get("required", True) else "optional"


def show(args: argparse.Namespace) -> int:
    """What the playbook holds; an invalid playbook is refused as ``validate`` refuses it."""
    book, status = checked(args.file)
    if status:
        return status
    described = book.describe()
    if args.json:
        print(json.dumps(described, indent=2, default=str))
        return 0
    meta = described["metadata"]
    print(f"{meta['name']} {meta['version']} by {meta['author']}")
    print(f"  {meta['description']}")
    print()
    print("Inputs:")
    flags = {o.input: o.flag for o in book.inputs.cli_options()}
    for name, props in described["inputs"].items():
        default = f" default {json.dumps(props['default'])}" if "default" in props else ""
        given = flags.get(name, f"{name} (no flag)")  # dynamic: true inputs only come from their store
        kind = f"{props.get('type', '?')!s:<8} {input_kind(props)}{default}"
        print(f"  {given:<24} {kind}  {props.get('description') or ''}")
    print()
    print("Node sets:")
    for name, spec in described["nodes"].items():
        extras = ", ".join(f"{k}={json.dumps(v)}" for k, v in spec.items() if k != "type")
        print(f"  {name:<24} {spec.get('type')}  {extras}")
    if described["data_stores"]:
        print()
        print("Data stores:")
        for name, spec in described["data_stores"].items():
            print(f"  {name:<24} {spec.get('type')}")
    if described["locks"]:
        print()
        print("Locks: " + ", ".join(described["locks"]))
    for set_name, tasks in described["tasks"].items():
        print()
        print(f"Tasks ({set_name}):")
        for index, task in enumerate(tasks, 1):
            print(f"  {index:>2}. {task['type']:<16} {task['description']}")
    return 0


# -- convert --------------------------------------------------------------------------------
def convert(args: argparse.Namespace) -> int:
    from ..playbook.convert import ConvertError, convert_file

    try:
        written = convert_file(args.file, args.output, survey=args.survey, hosts=args.hosts)
    except (ConvertError, PlaybookError) as exc:
        raise CLIError(str(exc)) from None
    for path in written:
        print(f"wrote {path}")
    return 0
