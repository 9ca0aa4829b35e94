"""Small statistics the reports share: percentiles, summaries, nanoseconds, and the original's time buckets."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable

BUCKET_SECONDS = 0.01  # the original measure tool's 10 ms buckets


def go_round(value: float) -> int:
    """Go's ``math.Round`` (half away from zero), not Python's banker's rounding."""
    return int(math.floor(abs(value) + 0.5)) * (1 if value >= 0 else -1)


def ns(seconds: float) -> int:
    """Seconds as the whole nanoseconds the original's files and events hold."""
    return int(round(seconds * 1e9))


def time_buckets(times: Iterable[float], interval: float = BUCKET_SECONDS) -> list[int]:
    """Replies per ``interval`` seconds since the publish, as the original wrote them.

    Bucket ``i`` holds the replies whose arrival rounds to ``i × interval``; there are
    ``round(last / interval) + 1`` buckets. No replies → no buckets (the original crashed).
    """
    values = list(times)
    if not values:
        return []
    buckets = [0] * (go_round(max(values) / interval) + 1)
    for value in values:
        buckets[go_round(value / interval)] += 1
    return buckets


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values (0 < pct ≤ 100)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summary(values: Iterable[float]) -> dict[str, float]:
    """count, min, median, mean, p95, p99, max and stddev of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "min": 0.0, "median": 0.0, "mean": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0, "stddev": 0.0}
    return {
        "count": len(ordered),
        "min": ordered[0],
        "median": statistics.median(ordered),
        "mean": statistics.fmean(ordered),
        "p95": percentile(ordered, 95),
        "p99": percentile(ordered, 99),
        "max": ordered[-1],
        "stddev": statistics.pstdev(ordered) if len(ordered) > 1 else 0.0,
    }
