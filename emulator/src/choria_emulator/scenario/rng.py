"""Repeatable draws: every random choice is a hash of the seed and what it is for.

A draw is ``uniform(seed, key...)``, a SplitMix64 mix of integer keys (the seed, the node's
instance number, what is drawn, the node's request count), so the same scenario with the same
``--seed`` makes the same choices whatever the split of nodes over workers or processes and
whatever the order in which messages arrive. Nothing keeps a generator state per node.

Latency and delays are distributions (:func:`parse_distribution`): ``fixed``, ``uniform``,
``normal`` and ``lognormal``, in seconds.
"""

from __future__ import annotations

import math
import re
import zlib
from typing import Any

from .errors import ScenarioError

MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_INV_2_53 = 1.0 / (1 << 53)
_PHI = (math.sqrt(5) - 1) / 2


def mix(value: int) -> int:
    """SplitMix64's finaliser: a well spread 64-bit hash of a 64-bit integer."""
    value = (value + _GOLDEN) & MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK
    return value ^ (value >> 31)


def key_of(text: str) -> int:
    """A stable integer for a name (not Python's ``hash``, which changes per process for strings)."""
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def uniform(*keys: int) -> float:
    """A number in [0, 1) determined by ``keys``.

    Python's hash of a tuple of integers is the same in every process and run (integers hash to
    themselves, unlike text), so one C-speed hash plus one mix spreads the keys well; a draw
    costs about a microsecond, paid per node per request.
    """
    return (mix(hash(keys) & MASK) >> 11) * _INV_2_53


def spread(seed: int, salt: int, index: int) -> float:
    """A low-discrepancy number in [0, 1) for instance ``index``: ``index * φ`` shifted by the seed.

    Taking the nodes whose value is below ``p`` picks a share ``p`` of any run of consecutive
    instance numbers to within one node (1 % of 500 nodes is 5 ± 1), spread over the names,
    where independent coin flips could pick none.
    """
    offset = uniform(seed, salt)
    return ((index + 1) * _PHI + offset) % 1.0


# ---- distributions ---------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?\s*$")
_UNITS = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_seconds(value: Any, where: str) -> float:
    """A duration: a number of seconds, or text such as ``250ms``, ``1.5s``, ``2m``, ``1h``."""
    if isinstance(value, bool):
        raise ScenarioError(f"{where}: must be a duration (seconds, or text like 250ms, 2s, 1m), not {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ScenarioError(f"{where}: must be a duration (seconds, or text like 250ms, 2s, 1m), not {value!r}")
    if seconds < 0 or math.isinf(seconds) or math.isnan(seconds):
        raise ScenarioError(f"{where}: must not be negative, not {value!r}")
    return seconds


class Distribution:
    """Seconds drawn from two uniform numbers; ``mean`` is for documentation and checks."""

    kind = ""

    def sample(self, u1: float, u2: float) -> float:
        raise NotImplementedError

    @property
    def always_zero(self) -> bool:
        return False

    def bound(self) -> float:
        """The largest value this distribution can give (inf for the unbounded ones)."""
        return math.inf


class Fixed(Distribution):
    kind = "fixed"

    def __init__(self, value: float):
        self.value = value

    def sample(self, u1: float, u2: float) -> float:
        return self.value

    @property
    def always_zero(self) -> bool:
        return self.value == 0

    def bound(self) -> float:
        return self.value

    def __repr__(self) -> str:
        return f"Fixed({self.value})"


class Uniform(Distribution):
    kind = "uniform"

    def __init__(self, low: float, high: float):
        self.low, self.high = low, high

    def sample(self, u1: float, u2: float) -> float:
        return self.low + u1 * (self.high - self.low)

    def bound(self) -> float:
        return self.high

    def __repr__(self) -> str:
        return f"Uniform({self.low}, {self.high})"


def _gauss(u1: float, u2: float) -> float:
    """A standard normal deviate (Box-Muller) from two uniforms in [0, 1)."""
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


class Normal(Distribution):
    """Normal, clamped to [``min``, ``max``] (``min`` defaults to 0: a latency is never negative)."""

    kind = "normal"

    def __init__(self, mean: float, stddev: float, low: float = 0.0, high: float = math.inf):
        self.mean, self.stddev, self.low, self.high = mean, stddev, low, high

    def sample(self, u1: float, u2: float) -> float:
        return min(self.high, max(self.low, self.mean + self.stddev * _gauss(u1, u2)))

    def bound(self) -> float:
        return self.high

    def __repr__(self) -> str:
        return f"Normal({self.mean}, {self.stddev})"


class LogNormal(Distribution):
    """Log-normal by its ``median`` and ``sigma`` (the standard deviation of the logarithm): long right tail."""

    kind = "lognormal"

    def __init__(self, median: float, sigma: float, high: float = math.inf):
        self.mu, self.sigma, self.high = math.log(median), sigma, high

    def sample(self, u1: float, u2: float) -> float:
        return min(self.high, math.exp(self.mu + self.sigma * _gauss(u1, u2)))

    def bound(self) -> float:
        return self.high

    def __repr__(self) -> str:
        return f"LogNormal({math.exp(self.mu)}, {self.sigma})"


ZERO = Fixed(0.0)
_FIELDS = {
    "fixed": ({"value"}, set()),
    "uniform": ({"min", "max"}, set()),
    "normal": ({"mean", "stddev"}, {"min", "max"}),
    "lognormal": ({"median", "sigma"}, {"max"}),
}


def parse_distribution(spec: Any, where: str) -> Distribution:
    """A distribution from YAML: a duration (fixed), or ``{distribution: KIND, ...}``.

    ``{distribution: uniform, min: 0.1, max: 2}``, ``{distribution: normal, mean: 1, stddev: 0.2}``,
    ``{distribution: lognormal, median: 0.05, sigma: 0.5}``, ``{distribution: fixed, value: 0.3}``.
    """
    if not isinstance(spec, dict):
        return Fixed(parse_seconds(spec, where))
    kind = spec.get("distribution")
    if kind not in _FIELDS:
        raise ScenarioError(f"{where}.distribution: must be one of {', '.join(_FIELDS)}, not {kind!r}")
    required, optional = _FIELDS[kind]
    for key in spec:
        if key != "distribution" and key not in required | optional:
            raise ScenarioError(
                f"{where}.{key}: unknown field for a {kind} distribution "
                f"(fields: {', '.join(sorted(required | optional))})"
            )
    for key in sorted(required):
        if key not in spec:
            raise ScenarioError(f"{where}.{key}: is required for a {kind} distribution")
    values = {key: parse_seconds(spec[key], f"{where}.{key}") for key in spec if key not in ("distribution", "sigma")}
    if kind == "fixed":
        return Fixed(values["value"])
    if kind == "uniform":
        if values["max"] < values["min"]:
            raise ScenarioError(f"{where}.max: must not be below min ({values['min']})")
        return Uniform(values["min"], values["max"])
    if kind == "normal":
        return Normal(values["mean"], values["stddev"], values.get("min", 0.0), values.get("max", math.inf))
    sigma = spec["sigma"]
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or sigma < 0:
        raise ScenarioError(f"{where}.sigma: must be a number >= 0, not {sigma!r}")
    if values["median"] <= 0:
        raise ScenarioError(f"{where}.median: must be above 0")
    return LogNormal(values["median"], float(sigma), values.get("max", math.inf))


def parse_rate(value: Any, where: str) -> float:
    """A share in [0, 1]: ``0.01`` or ``"1%"``."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            rate = float(value.strip()[:-1]) / 100.0
        except ValueError:
            rate = -1.0
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        rate = float(value)
    else:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise ScenarioError(f"{where}: must be a rate between 0 and 1 (or a percentage like '1%'), not {value!r}")
    return rate
