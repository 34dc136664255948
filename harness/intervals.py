"""Confidence intervals that stay honest at small n.

Why not a percentile bootstrap: with two samples that agree it returns a zero-width
interval ("50.0 [50.0, 50.0]"), which claims a certainty the data cannot carry. Every
function here returns an interval of positive width for any n >= 1 that is not a
degenerate bound, and a vacuous one (the whole range) for n = 0.

Means of bounded scores (`bounded_mean`, and everything built on it) use a Bayesian
bootstrap with one pseudo-observation at the bound being estimated: the lower limit is
the lower quantile of the Bayesian-bootstrap distribution of the mean of the data plus
one observation at the range's minimum, the upper limit the upper quantile with one at
its maximum. Why this one:
- On 0/1 data it *is* the Clopper-Pearson interval (the Dirichlet weights of the
  observations at each bound sum to a Beta variable), so it inherits exact coverage
  (never below nominal); on other bounded scores the data's own spread sets the width.
- The pseudo-observation is what a plain Bayesian bootstrap lacks at small n: its spread
  is s^2 (n - 1) / (n (n + 1)), a third of the truth at n = 2, and zero when the values
  agree. A t-interval collapses the same way when they agree (two tool calls that both
  passed), and clipping it to the range cannot widen it again.
- It has a closed form: the Dirichlet-weighted mean's first two moments are exact and a
  Beta on the range is matched to them (exact for two-valued data). No resampling, so no
  seed, and a re-run gives the same bytes.
- Paired differences are the same method on the per-item differences over [lo - hi,
  hi - lo]: on paired 0/1 outcomes it reaches the exact McNemar test's verdict in 2131 of
  2135 tables (n = 5..50, measured), without Newcombe's anti-conservative cases. For
  deciding which of two models is better, `net_wins` applies it to the sign of each
  item's difference (see there why).
- Equal-weight means over strata (categories) weigh each value by its stratum's share;
  the pseudo-observation weighs as one effective value (Kish's n_eff), so it neither
  drowns a category of one item nor vanishes beside a large one.
Measured coverage (tests/harness/test_intervals.py, seeded, 2000 samples per scenario), the
lowest over its scenarios at n = 2, 5, 10, 30: single means 0.988, 0.976, 0.980, 0.952;
paired differences 1.000, 1.000, 0.985, 0.974; equal-weight means over strata (equal and
unequal sizes) 0.960, 0.961, 0.961, 0.953; net win rates 0.991, 0.977, 0.979, 0.958.
Conservative at small n (two or five pairs almost never separate two models), which is
the honest price of so few items.

`wilson` is kept for callers that want the classic score interval on a proportion: its
coverage averaged over p is close to 0.95 from n = 2, but at a given p it dips (0.83 at
n = 2, p = 0.09); for decisions at small n prefer `bounded_mean` on the 0/1 outcomes.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from functools import cache
from statistics import NormalDist
from typing import Any, TypeVar

import msgspec
import numpy as np
import numpy.typing as npt

CONFIDENCE = 0.95
POWER = 0.8  # for the smallest detectable difference
_TINY = 1e-15  # variance (on the unit scale) below which a side is a point
K = TypeVar("K", bound=Hashable)
FloatArray = npt.NDArray[np.float64]


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

    def excludes(self, value: float) -> bool:
        """True when `value` lies outside the interval (a difference that is not zero)."""
        return self.n > 0 and (self.lo > value or self.hi < value)



@cache
def _stats() -> Any:  # scipy.stats (scipy ships no type information for it)
    """scipy.stats, imported on first use. Why lazily: importing it takes ~0.6 s of CPU, and
    every process of a run (the CLI, each actor) imports this module while most never draw
    an interval; only the summaries and calibration do."""
    from scipy import stats

    return stats


@cache
def _betaincinv() -> Any:
    """scipy.special.betaincinv(a, b, q), the Beta(a, b) q-quantile: the same routine
    `scipy.stats.beta.ppf` calls (bit-identical here over 10,000 random cases), without
    scipy.stats' import (0.56 s of CPU against 0.17 s for scipy.special), which every
    aggregate with a tool-use section would otherwise pay."""
    from scipy.special import betaincinv

    return betaincinv


@cache
def _normal_quantile(q: float) -> float:
    """The standard normal's q-quantile. Why the stdlib's and not scipy's `norm.ppf`: they
    agree to the last bit or two (Wichura's AS241 in both), and the aggregate's success
    intervals then need no scipy import (~0.6 s of CPU) when nothing else draws on it."""
    return NormalDist().inv_cdf(q)


def wilson(successes: int, n: int, confidence: float = CONFIDENCE) -> Interval:
    """Wilson score interval for a proportion: correct coverage near 0 and 1 and at small
    n, where the normal (Wald) interval collapses to a point."""
    if n <= 0:
        return Interval(point=None, lo=0.0, hi=1.0, n=0)
    if not 0 <= successes <= n:
        raise ValueError(f"successes {successes} outside 0..{n}")
    z = _normal_quantile(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(point=p, lo=lo, hi=hi, n=n)


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")


def _weights(counts: FloatArray) -> FloatArray:
    """Each value's weight: strata count equally, values equally within a stratum."""
    present = counts > 0
    strata = np.maximum(present.sum(axis=-1, keepdims=True), 1)
    return np.asarray(np.where(present, 1.0 / (strata * np.maximum(counts, 1)), 0.0), dtype=np.float64)


def _side(sums: FloatArray, squares: FloatArray, counts: FloatArray, bound: float, tail: float) -> FloatArray:
    """One limit on the unit scale: the `tail` quantile of the Beta matched to the
    Bayesian-bootstrap distribution of the weighted mean of the data plus one observation
    at `bound`. Arrays are (..., strata); a stratum's values share its weight equally.

    The pseudo-observation weighs as one effective value (Kish: n_eff = 1 / sum of squared
    weights), so three one-item categories beside one of twenty are not drowned by it; the
    spread is the Dirichlet's, linearised for unequal weights (exact when they are equal)."""
    q = _weights(counts)
    q0 = (q * q * counts).sum(axis=-1)  # = 1 / n_eff: the weight of one effective value
    n_eff = 1.0 / np.maximum(q0, 1e-300)
    mean = ((q * sums).sum(axis=-1) + q0 * bound) / (1 + q0)
    m = mean[..., None]
    spread = (q * q * (squares - 2 * m * sums + counts * m * m)).sum(axis=-1) + q0 * q0 * (bound - mean) ** 2
    variance = np.maximum(spread, 0.0) * (n_eff + 1) / ((n_eff + 2) * (1 + q0) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        nu = mean * (1 - mean) / variance - 1
        a, b = mean * nu, (1 - mean) * nu
        quantile = np.where((a > 0) & (b > 0), _betaincinv()(a, b, tail), np.nan)
    point_like = (variance <= _TINY) | ~np.isfinite(quantile) | (nu <= 0)
    return np.asarray(np.where(point_like, np.clip(mean, 0.0, 1.0), quantile), dtype=np.float64)


def mean_limits(sums: npt.ArrayLike, squares: npt.ArrayLike, counts: npt.ArrayLike, *,
                confidence: float = CONFIDENCE) -> tuple[FloatArray, FloatArray]:
    """(lower, upper) limits of the equal-weight mean over strata, on the unit scale [0, 1],
    from each stratum's sum, sum of squares and count (arrays shaped (..., strata)).

    The vectorised core of every mean interval here; the coverage test drives it with
    thousands of simulated samples at once, and the scalar functions call it with one."""
    _check_confidence(confidence)
    s, q, c = (np.asarray(v, dtype=np.float64) for v in (sums, squares, counts))
    tail = (1 - confidence) / 2
    lo = _side(s, q, c, 0.0, tail)
    hi = _side(s, q, c, 1.0, 1 - tail)
    point = (_weights(c) * s).sum(axis=-1)
    empty = ~(c > 0).any(axis=-1)
    lo = np.where(empty, 0.0, np.minimum(lo, point))
    hi = np.where(empty, 1.0, np.maximum(hi, point))
    return lo, hi


def effective_n(counts: Sequence[int]) -> float:
    """Kish's effective sample size of an equal-weight mean over strata of these sizes."""
    present = [c for c in counts if c > 0]
    return 0.0 if not present else 1.0 / sum(1.0 / (len(present) ** 2 * c) for c in present)


def _unit(values: Sequence[float], lower: float, upper: float) -> FloatArray:
    if not upper > lower:
        raise ValueError(f"empty range [{lower}, {upper}]")
    data = (np.asarray(values, dtype=np.float64) - lower) / (upper - lower)
    if data.size and (not np.isfinite(data).all() or data.min() < -1e-9 or data.max() > 1 + 1e-9):
        raise ValueError(f"values outside [{lower}, {upper}]")
    return np.clip(data, 0.0, 1.0)


def stratified_mean(strata: Sequence[Sequence[float]], lower: float = 0.0, upper: float = 1.0,
                    confidence: float = CONFIDENCE) -> Interval:
    """The equal-weight mean of the strata's means (say, categories), with its interval;
    an empty stratum is left out. `n` counts the values of every stratum."""
    units = [_unit(values, lower, upper) for values in strata]
    counts = [float(u.size) for u in units]
    n = int(sum(counts))
    if n == 0:
        return Interval(point=None, lo=lower, hi=upper, n=0)
    sums = [float(u.sum()) for u in units]
    squares = [float((u * u).sum()) for u in units]
    lo, hi = mean_limits([sums], [squares], [counts], confidence=confidence)
    used = [(s, c) for s, c in zip(sums, counts, strict=True) if c > 0]
    point = sum(s / c for s, c in used) / len(used)
    width = upper - lower
    return Interval(point=lower + width * point, lo=lower + width * float(lo[0]), hi=lower + width * float(hi[0]),
                    n=n)


def bounded_mean(values: Sequence[float], lower: float = 0.0, upper: float = 1.0,
                 confidence: float = CONFIDENCE) -> Interval:
    """The mean of scores known to lie in [lower, upper], with an interval honest from n = 1
    (0/1 outcomes give Clopper-Pearson). Pass one value per independent unit (per-item
    means, see `cluster_means`), never raw repeats."""
    return stratified_mean([values], lower, upper, confidence)


def _differences(pairs: Sequence[tuple[float, float]]) -> list[float]:
    return [x - y for x, y in pairs]


def stratified_paired_difference(strata: Sequence[Sequence[tuple[float, float]]], lower: float = 0.0,
                                 upper: float = 1.0, confidence: float = CONFIDENCE) -> Interval:
    """The equal-weight mean over strata of the mean paired difference x - y, where x and
    y lie in [lower, upper] and each pair is one unit measured both ways."""
    width = upper - lower
    return stratified_mean([_differences(pairs) for pairs in strata], -width, width, confidence)


def paired_difference(pairs: Sequence[tuple[float, float]], lower: float = 0.0, upper: float = 1.0,
                      confidence: float = CONFIDENCE) -> Interval:
    """Mean of x - y over pairs measured on the same units (a model against another on
    shared items, a prompt variant against baseline). Never zero-width when no pair
    differs: ten concordant pairs of 0/1 outcomes give about [-0.25, +0.25]."""
    return stratified_paired_difference([pairs], lower, upper, confidence)


def _signs(pairs: Sequence[tuple[float, float]]) -> list[float]:
    return [float(np.sign(x - y)) for x, y in pairs]


def stratified_net_wins(strata: Sequence[Sequence[tuple[float, float]]], confidence: float = CONFIDENCE) -> Interval:
    """P(x > y) - P(x < y) over paired units, strata weighted equally: the share of units x
    wins minus the share it loses (ties count for neither). Why wins and not the mean
    difference for deciding ranks: with bounded scores, a mean difference cannot exclude
    zero until the items rule out an unseen item lost by the whole range, which takes
    dozens of items even when every item agrees (six items each won by 50 points of 100
    stay "tied"); the sign of each item's difference asks only who was better on it, like
    the exact sign (McNemar) test, which it matches on 0/1 outcomes."""
    return stratified_mean([_signs(pairs) for pairs in strata], -1.0, 1.0, confidence)


def net_wins(pairs: Sequence[tuple[float, float]], confidence: float = CONFIDENCE) -> Interval:
    """`stratified_net_wins` over one stratum."""
    return stratified_net_wins([pairs], confidence)


def detectable_net_wins(n: float, power: float = POWER, confidence: float = CONFIDENCE) -> float | None:
    """The smallest net win rate that `net_wins` over n units would find (interval above
    zero) with probability `power`, at 1 - confidence two-sided, when no unit is tied;
    None when even winning every unit would not be enough (fewer than 6 units at 95 %).
    Exact: the binomial distribution of wins under the decision rule itself."""
    units = math.floor(n)
    if units < 1:
        return None
    wins = np.arange(units + 1, dtype=np.float64)
    lo, _ = mean_limits(wins[:, None], wins[:, None], np.full((units + 1, 1), float(units)), confidence=confidence)
    decided = lo > 0.5  # the unit-scale lower limit of the win share above one half
    for rate in np.linspace(0.0, 1.0, 201):
        if float(_stats().binom.pmf(wins, units, (1 + rate) / 2)[decided].sum()) >= power:
            return float(rate)
    return None


def cluster_means(observations: Iterable[tuple[K, float]]) -> dict[K, float]:
    """Mean per cluster key (item): repeats of one item are one unit, not K samples, so
    `--repeat 5` on the same outputs leaves every interval as it was."""
    sums: dict[K, float] = {}
    counts: dict[K, int] = {}
    for key, value in observations:
        sums[key] = sums.get(key, 0.0) + value
        counts[key] = counts.get(key, 0) + 1
    return {key: sums[key] / counts[key] for key in sums}


def detectable_difference(interval: Interval, power: float = POWER, confidence: float = CONFIDENCE) -> float | None:
    """The smallest true difference a comparison with this interval's n and spread would
    detect (interval excluding zero) with probability `power`, two-sided at 1 - confidence:
    (z_(1 - alpha/2) + z_power) x the standard error read off the interval's half-width."""
    if interval.n == 0:
        return None
    _check_confidence(confidence)
    z_alpha = _normal_quantile(0.5 + confidence / 2)
    z_power = _normal_quantile(power)
    return (interval.hi - interval.lo) / 2 * (z_alpha + z_power) / z_alpha
