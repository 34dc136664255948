"""Percentiles and rates with the n they rest on and an interval honest at small n.

Why these intervals: a percentile's interval comes from order statistics
(`scipy.stats.quantile_test`), distribution-free, and unbounded on a side the data cannot
bound (p95 of five samples has no upper limit: reported as None, never invented). A
served count in a window gets the exact Poisson (Garwood) interval; a closed loop serves
more regularly than a Poisson process, so that interval is wide, not narrow.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np
from scipy import stats

CONFIDENCE = 0.95


class Figure(msgspec.Struct, frozen=True, kw_only=True):
    """A point estimate, its interval (None: unbounded or no data on that side) and n."""

    point: float | None
    lo: float | None
    hi: float | None
    n: int


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def percentile(values: list[float], q: float) -> Figure:
    """Linear-interpolated percentile `q` (0..100) with a distribution-free interval."""
    if not values:
        return Figure(point=None, lo=None, hi=None, n=0)
    data = np.asarray(values, dtype=float)
    point = float(np.percentile(data, q))
    if len(data) == 1:
        return Figure(point=point, lo=None, hi=None, n=1)
    ci = stats.quantile_test(data, q=point, p=q / 100.0).confidence_interval(confidence_level=CONFIDENCE)
    return Figure(point=point, lo=_finite(float(ci.low)), hi=_finite(float(ci.high)), n=len(data))


def count_rate(count: int, seconds: float) -> Figure:
    """`count` events over `seconds`, with the exact Poisson interval on the count."""
    if seconds <= 0:
        raise ValueError("seconds must be positive")
    alpha = 1.0 - CONFIDENCE
    lo = 0.0 if count == 0 else float(stats.chi2.ppf(alpha / 2, 2 * count)) / 2
    hi = float(stats.chi2.ppf(1 - alpha / 2, 2 * count + 2)) / 2
    return Figure(point=count / seconds, lo=lo / seconds, hi=hi / seconds, n=count)


def difference(a: Figure, b: Figure) -> float | None:
    """a - b of the point estimates (tool minus mock), None if either is missing."""
    if a.point is None or b.point is None:
        return None
    return a.point - b.point
