"""Confidence intervals that stay honest at small n.

Why not a percentile bootstrap: with two samples that agree it returns a zero-width
interval ("50.0 [50.0, 50.0]"), which claims a certainty the data cannot carry. Every
function here returns an interval of positive width for any n >= 1 that is not a
degenerate bound, and a vacuous one (the whole range) for n = 0.
"""

from __future__ import annotations

import math

import msgspec
from scipy import stats

CONFIDENCE = 0.95


class Interval(msgspec.Struct, frozen=True, kw_only=True):
    """A point estimate with its interval and the n it rests on."""

    point: float | None
    lo: float
    hi: float
    n: int

    def scaled(self, factor: float) -> Interval:
        """The same interval in other units (a proportion as percentage points, say)."""
        point = None if self.point is None else self.point * factor
        return Interval(point=point, lo=self.lo * factor, hi=self.hi * factor, n=self.n)


def wilson(successes: int, n: int, confidence: float = CONFIDENCE) -> Interval:
    """Wilson score interval for a proportion: correct coverage near 0 and 1 and at small
    n, where the normal (Wald) interval collapses to a point."""
    if n <= 0:
        return Interval(point=None, lo=0.0, hi=1.0, n=0)
    if not 0 <= successes <= n:
        raise ValueError(f"successes {successes} outside 0..{n}")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(point=p, lo=lo, hi=hi, n=n)
