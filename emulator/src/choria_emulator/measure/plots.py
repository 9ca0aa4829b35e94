"""PNG plots of a suite and of a comparison, drawn headless (matplotlib's Agg backend).

matplotlib is the ``plots`` extra of the package: without it a suite still writes every CSV
and JSON file and says which plots it skipped.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .model import TestResult
from .stats import BUCKET_SECONDS, time_buckets

log = logging.getLogger(__name__)
ARRIVALS_PNG, ROUND_TRIPS_PNG, COMPARE_PNG = "arrivals.png", "round_trips.png", "compare.png"
MAX_PLOT_BUCKETS = 300


class PlotsUnavailable(RuntimeError):
    pass


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise PlotsUnavailable("matplotlib is not installed (pip install 'choria-emulator[plots]')") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_interval(tests: Sequence[TestResult]) -> float:
    """The original's 10 ms buckets, widened in 10 ms steps so a plot has at most ~300 of them."""
    longest = max((t.last_reply for t in tests), default=0.0)
    return BUCKET_SECONDS * max(1, math.ceil(longest / (MAX_PLOT_BUCKETS * BUCKET_SECONDS)))


def arrivals(path: Path, tests: Sequence[TestResult], title: str) -> None:
    """Replies per bucket against time since the publish, one line per request."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 5), dpi=100)
    cmap = plt.get_cmap("viridis")
    interval = plot_interval(tests)
    for index, test in enumerate(tests):
        buckets = time_buckets(test.times, interval)
        if not buckets:
            continue
        xs = [i * interval * 1000 for i in range(len(buckets))]
        ax.step(
            xs,
            buckets,
            where="mid",
            color=cmap(index / max(1, len(tests) - 1)),
            alpha=0.8,
            linewidth=1,
            label=f"request {test.test}",
        )
    ax.set_xlabel("time since publish (ms)")
    ax.set_ylabel(f"replies per {interval * 1000:.0f} ms")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if 0 < len(tests) <= 10:
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def round_trips(path: Path, tests: Sequence[TestResult], title: str) -> None:
    """Each request's round trip (bars), its last reply and publish time (lines), misses in red."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 5), dpi=100)
    numbers = [t.test for t in tests]
    colours = ["tab:blue" if t.complete else "tab:red" for t in tests]
    ax.bar(
        numbers,
        [t.request_duration * 1000 for t in tests],
        color=colours,
        alpha=0.6,
        label="round trip (red: replies missing)",
    )
    ax.plot(numbers, [t.last_reply * 1000 for t in tests], marker=".", color="tab:orange", label="last reply")
    ax.plot(numbers, [t.publish_duration * 1000 for t in tests], marker=".", color="tab:green", label="publish")
    ax.set_xlabel("request #")
    ax.set_ylabel("ms")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def suite_plots(outdir: Path, tests: Sequence[TestResult], description: str, nodes: int, size: int) -> list[str]:
    """Both suite plots; returns the file names written (none without matplotlib)."""
    try:
        arrivals(outdir / ARRIVALS_PNG, tests, f"{description}: reply arrivals ({nodes} nodes, {size} B payload)")
        round_trips(outdir / ROUND_TRIPS_PNG, tests, f"{description}: round trip per request ({nodes} nodes)")
    except PlotsUnavailable as exc:
        log.warning("no plots: %s", exc)
        return []
    return [ARRIVALS_PNG, ROUND_TRIPS_PNG]


def compare(path: Path, runs: Sequence[dict[str, Any]]) -> None:
    """Median round trip (p95 whisker, min dot) of several runs against their network size."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 5), dpi=100)
    sizes = [r["nodes"] for r in runs]
    by_size = len(set(sizes)) == len(sizes)
    xs = sizes if by_size else list(range(1, len(runs) + 1))
    medians = [r["round_trip"]["median"] * 1000 for r in runs]
    p95 = [max(0.0, r["round_trip"]["p95"] * 1000 - m) for r, m in zip(runs, medians)]
    low = [max(0.0, m - r["round_trip"]["min"] * 1000) for r, m in zip(runs, medians)]
    ax.errorbar(
        xs, medians, yerr=[low, p95], fmt="o-" if by_size else "o", capsize=4, label="median round trip (min–p95)"
    )
    for x, y, run in zip(xs, medians, runs):
        ax.annotate(run["label"], (x, y), textcoords="offset points", xytext=(5, 5), fontsize="small")
    ax.set_xlabel("nodes" if by_size else "run")
    ax.set_ylabel("ms")
    ax.set_title("round trip per run")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
