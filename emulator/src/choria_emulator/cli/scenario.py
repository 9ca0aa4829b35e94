"""``choria-emulator scenario``: the shipped DDLs and scenarios, and checking a scenario file."""

from __future__ import annotations

import argparse
import json

from .errors import CLIError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "scenario", help="check scenario files, find the shipped DDLs and scenarios", description=__doc__
    )
    actions = p.add_subparsers(dest="scenario_command", metavar="ACTION", required=True)
    path = actions.add_parser("path", help="print where the shipped library is (or one of its parts)")
    path.add_argument("part", nargs="?", choices=("library", "ddl", "ruby", "playbooks"), default="library")
    path.set_defaults(func=run_path)
    listing = actions.add_parser("list", help="the shipped DDLs and scenarios")
    listing.set_defaults(func=run_list)
    validate = actions.add_parser("validate", help="load a scenario against DDLs and report what it covers")
    validate.add_argument("file", help="scenario file, or the name of a shipped one (blue-green, puppet, ...)")
    validate.add_argument(
        "--ddl",
        action="append",
        metavar="FILE_OR_DIR",
        help="DDL file or directory, or a shipped agent's name (default: every shipped DDL)",
    )
    validate.add_argument("--json", action="store_true", help="print the summary as JSON")
    validate.set_defaults(func=run_validate)


def run_path(args: argparse.Namespace) -> int:
    from ..scenario import library

    parts = {
        "library": library.LIBRARY,
        "ddl": library.DDL_DIR,
        "ruby": library.RUBY_DIR,
        "playbooks": library.PLAYBOOK_DIR,
    }
    print(parts[args.part])
    return 0


def run_list(args: argparse.Namespace) -> int:
    from ..ddl.agent import load_paths
    from ..scenario import Scenario, library

    ddls = load_paths([str(library.DDL_DIR)])
    print("DDLs (--ddl NAME):")
    for ddl in ddls:
        print(f"  {ddl.name:<10} {ddl.version:<8} {ddl.metadata['description']}")
    print("Scenarios (--scenario NAME):")
    for name in library.scenario_names():
        scenario = Scenario.load(library.LIBRARY / f"{name}.yaml", ddls)
        agents = sorted({agent for agent, _action in scenario.actions})
        print(f"  {name:<24} {', '.join(agents):<32} {scenario.description}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from ..ddl.agent import DDLError, load_paths
    from ..scenario import Scenario, ScenarioError, library

    try:
        ddls = load_paths([library.resolve_ddl(value) for value in args.ddl or [str(library.DDL_DIR)]])
        scenario = Scenario.load(library.resolve_scenario(args.file), ddls)
    except (DDLError, ScenarioError) as exc:
        raise CLIError(str(exc), exit_code=2) from None
    summary = scenario.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{summary['source']}: valid scenario for {len(summary['actions'])} action(s)")
    for key in ("groups", "actions", "churn"):
        if summary[key]:
            print(f"  {key}: {', '.join(summary[key])}")
    if summary["state"]:
        print("  state: " + ", ".join(f"{k} ({v})" for k, v in summary["state"].items()))
    return 0
