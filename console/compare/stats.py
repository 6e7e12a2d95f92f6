"""Rates with confidence intervals, and when an interval is tight enough to stop repeating.

Wilson's score interval: unlike the normal approximation it stays inside [0, 1] and is
honest at 0 or n successes out of n, which is where conformance rates live (Wilson 1927;
Brown, Cai & DasGupta 2001 recommend it for small n).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the two-sided 95 % normal quantile
# "Tight enough to tell 0 % from 10 %": repeat until the failure rate's interval leaves out
# one of them (0 failures in n runs needs n ≥ 35 for the upper bound to fall below 10 %).
TELL_APART = (0.0, 0.10)


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The interval for a rate of ``k`` in ``n``; (0, 1) when there is nothing to go on."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    lo, hi = max(0.0, center - half), min(1.0, center + half)
    if k == 0:
        lo = 0.0  # exactly: the rounding of center − half must not make 0 look excluded
    if k == n:
        hi = 1.0
    return lo, hi


@dataclass(frozen=True)
class Rate:
    k: int  # events (failures, leaks, agreements — what the rate counts)
    n: int  # trials

    @property
    def value(self) -> float | None:
        return self.k / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.k, self.n)

    def excludes(self, x: float) -> bool:
        lo, hi = self.interval
        return self.n > 0 and not lo <= x <= hi

    def decided(self, apart: tuple[float, float] = TELL_APART) -> bool:
        """True when the interval leaves out at least one of the two rates to tell apart."""
        return any(self.excludes(x) for x in apart)

    def to_dict(self) -> dict:
        lo, hi = self.interval
        return {"k": self.k, "n": self.n, "rate": self.value, "ci95": [lo, hi]}


def runs_to_tell_apart(apart: tuple[float, float] = TELL_APART) -> int:
    """The fewest failure-free runs whose interval excludes the larger rate (35 for 0 vs 10 %)."""
    n = 1
    while not Rate(0, n).excludes(max(apart)):
        n += 1
    return n


def pct(x: float | None, digits: int = 0) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f} %"


def interval_text(rate: Rate, *, complement: bool = False) -> str:
    """"96 % [91–99] n=35": the rate (or 1 − rate) with its 95 % interval."""
    if not rate.n:
        return "n=0"
    lo, hi = rate.interval
    v = rate.value
    if complement:
        v, lo, hi = 1 - v, 1 - hi, 1 - lo
    return f"{v * 100:.0f} % [{lo * 100:.0f}–{hi * 100:.0f}] n={rate.n}"
