"""``measure compare DIR ...``: several suites side by side, as a table and one plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .files import read_report

COLUMNS = (
    ("run", "label"),
    ("nodes", "nodes"),
    ("payload", "payload"),
    ("mode", "mode"),
    ("tests", "tests"),
    ("complete", "complete"),
    ("discovery s", "discovery"),
    ("rt min ms", "rt_min"),
    ("rt median ms", "rt_median"),
    ("rt p95 ms", "rt_p95"),
    ("rt max ms", "rt_max"),
    ("replies/s", "replies_per_second"),
    ("nats RSS MiB", "nats_rss"),
)


def load_run(outdir: Path) -> dict[str, Any]:
    """The figures ``compare`` shows for one report directory."""
    report = read_report(outdir)
    try:
        suite, rt = report["suite"], report["round_trip"]
        nats_after = [n for n in report.get("nats", {}).get("after", []) if isinstance(n.get("rss"), int)]
        return {
            "dir": str(outdir),
            "label": suite["description"],
            "nodes": report["discovery"]["nodes"],
            "payload": suite["payload_size"],
            "mode": report.get("mode", ""),
            "tests": report["tests"]["count"],
            "complete": report["tests"]["complete"],
            "discovery": round(report["discovery"]["duration"], 2),
            "round_trip": rt,
            "rt_min": round(rt["min"] * 1000, 1),
            "rt_median": round(rt["median"] * 1000, 1),
            "rt_p95": round(rt["p95"] * 1000, 1),
            "rt_max": round(rt["max"] * 1000, 1),
            "replies_per_second": round(report["replies_per_second"]),
            "nats_rss": round(sum(n["rss"] for n in nats_after) / 2**20) if nats_after else "",
        }
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{outdir}/report.json lacks {exc}; was it written by choria-emulator measure?") from None


def table(runs: list[dict[str, Any]]) -> str:
    """A plain text table, one row per run, columns aligned."""
    header = [name for name, _key in COLUMNS]
    rows = [[str(run[key]) for _name, key in COLUMNS] for run in runs]
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width) for i, (cell, width) in enumerate(zip(cells, widths))
        )

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])
