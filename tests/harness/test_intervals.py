"""Intervals: never zero-width at small n, exact where theory says so, and a seeded coverage
simulation at n = 2, 5, 10 and 30 for every method (a few seconds: the simulation drives
the same vectorised core, `mean_limits`, that every scalar function calls)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from harness.intervals import (
    bounded_mean,
    cluster_means,
    detectable_difference,
    detectable_net_wins,
    effective_n,
    mean_limits,
    net_wins,
    paired_difference,
    stratified_mean,
    stratified_net_wins,
    stratified_paired_difference,
    wilson,
)

SIZES = (2, 5, 10, 30)
TRIALS = 2000
FLOOR = 0.93
Sampler = Callable[[np.random.Generator, int, int], np.ndarray]  # (rng, trials, n) -> (trials, n) values


@pytest.mark.parametrize("k,n", [(0, 2), (1, 2), (2, 2), (0, 1), (1, 1), (3, 5)])
def test_wilson_never_zero_width(k: int, n: int) -> None:
    interval = wilson(k, n)
    assert interval.hi - interval.lo > 0.2
    assert interval.lo <= k / n <= interval.hi


def test_wilson_known_value() -> None:
    # Wilson 95 % for 8/10, as tabulated (Newcombe 1998): 0.490 to 0.943
    interval = wilson(8, 10)
    assert interval.lo == pytest.approx(0.4902, abs=1e-3)
    assert interval.hi == pytest.approx(0.9433, abs=1e-3)


def test_wilson_bounds_and_empty() -> None:
    assert wilson(0, 4).lo == 0.0
    assert wilson(4, 4).hi == 1.0
    empty = wilson(0, 0)
    assert (empty.lo, empty.hi, empty.point, empty.n) == (0.0, 1.0, None, 0)
    with pytest.raises(ValueError):
        wilson(5, 4)


@pytest.mark.parametrize("k,n", [(0, 2), (1, 2), (2, 2), (3, 10), (8, 10), (0, 30), (17, 30)])
def test_bounded_mean_on_01_outcomes_is_clopper_pearson(k: int, n: int) -> None:
    interval = bounded_mean([1.0] * k + [0.0] * (n - k))
    lo = 0.0 if k == 0 else stats.beta.ppf(0.025, k, n - k + 1)
    hi = 1.0 if k == n else stats.beta.ppf(0.975, k + 1, n - k)
    assert (interval.lo, interval.hi) == (pytest.approx(lo, abs=1e-9), pytest.approx(hi, abs=1e-9))
    assert interval.point == pytest.approx(k / n) and interval.n == n


@pytest.mark.parametrize("values", [[0.5], [0.5, 0.5], [1.0, 1.0], [0.0, 0.0], [0.7] * 5])
def test_agreeing_samples_never_give_a_zero_width_interval(values: list[float]) -> None:
    """The measured defect: two answers of 50 each were reported as 50.0 [50.0, 50.0]."""
    interval = bounded_mean([100 * v for v in values], 0.0, 100.0)
    assert interval.hi - interval.lo > 20.0
    assert interval.lo <= 100 * values[0] <= interval.hi
    paired = paired_difference([(v, v) for v in values])
    assert paired.lo < 0.0 < paired.hi and not paired.excludes(0.0)


def test_ten_concordant_pairs_do_not_collapse() -> None:
    """The measured defect: ten pairs that never differ read +0.0 pp [+0.0, +0.0]."""
    interval = paired_difference([(1.0, 1.0)] * 5 + [(0.0, 0.0)] * 5)
    assert interval.point == 0.0 and interval.n == 10
    assert interval.lo == pytest.approx(-interval.hi) and 0.2 < interval.hi < 0.3


def test_a_clear_paired_difference_excludes_zero() -> None:
    interval = paired_difference([(1.0, 0.0)] * 12 + [(1.0, 1.0)] * 8)
    assert interval.excludes(0.0) and interval.lo > 0.25 and interval.point == pytest.approx(0.6)


def test_empty_inputs_are_vacuous_and_bad_ones_rejected() -> None:
    assert bounded_mean([], 0.0, 100.0) == bounded_mean([], 0.0, 100.0)
    empty = bounded_mean([], 0.0, 100.0)
    assert (empty.point, empty.lo, empty.hi, empty.n) == (None, 0.0, 100.0, 0)
    none = paired_difference([])
    assert (none.lo, none.hi, none.n) == (-1.0, 1.0, 0) and not none.excludes(0.0)
    with pytest.raises(ValueError, match="outside"):
        bounded_mean([1.5])
    with pytest.raises(ValueError, match="range"):
        bounded_mean([0.5], 1.0, 1.0)
    with pytest.raises(ValueError, match="confidence"):
        bounded_mean([0.5], confidence=1.0)
    assert detectable_difference(empty) is None


def test_strata_weigh_equally_and_empty_strata_are_left_out() -> None:
    interval = stratified_mean([[1.0, 1.0, 1.0, 1.0], [0.0], []])
    assert interval.point == pytest.approx(0.5) and interval.n == 5 and interval.lo < 0.5 < interval.hi
    one = stratified_mean([[0.2, 0.4, 0.9]])
    assert one == bounded_mean([0.2, 0.4, 0.9])
    paired = stratified_paired_difference([[(1.0, 0.0)] * 3, [(0.0, 0.0)] * 3])
    assert paired.point == pytest.approx(0.5)


def test_repeats_clustered_into_item_means_leave_the_interval_as_it_was() -> None:
    """`--repeat 5` on identical outputs: five copies of each item's score are one unit."""
    once = [("a", 1.0), ("b", 0.0), ("c", 1.0)]
    five = [obs for obs in once for _ in range(5)]
    assert cluster_means(five) == cluster_means(once) == {"a": 1.0, "b": 0.0, "c": 1.0}
    assert bounded_mean(list(cluster_means(five).values())) == bounded_mean([1.0, 0.0, 1.0])
    assert bounded_mean([v for _, v in five]).hi - bounded_mean([v for _, v in five]).lo < \
        bounded_mean([1.0, 0.0, 1.0]).hi - bounded_mean([1.0, 0.0, 1.0]).lo  # what pooling repeats would claim


def test_net_wins_count_items_won_and_lost_not_margins() -> None:
    """Six items each won by 50 points: a consistent lead the mean difference cannot prove
    (an unseen item lost by the whole range is still possible) and the sign comparison can,
    as the exact sign test does (p = 2 / 2^6 = 0.031)."""
    six = [(50.0, 0.0)] * 6
    assert not paired_difference([(x / 100, y / 100) for x, y in six]).excludes(0.0)
    assert net_wins(six).excludes(0.0) and net_wins(six).point == 1.0
    assert not net_wins(six[:5]).excludes(0.0)  # 2 / 2^5 = 0.0625: not at five
    mixed = net_wins([(1.0, 0.0)] * 4 + [(0.0, 1.0)] * 2 + [(0.5, 0.5)] * 4)
    assert mixed.point == pytest.approx(0.2) and mixed.n == 10 and not mixed.excludes(0.0)
    strata = stratified_net_wins([[(1.0, 0.0)]] * 8)
    assert strata.excludes(0.0) and strata == net_wins([(1.0, 0.0)] * 8)  # equal strata: as pooled


def test_detectable_net_wins_by_exact_power() -> None:
    assert detectable_net_wins(5) is None  # five won items of five do not reach 95 %
    six = detectable_net_wins(6)
    assert six is not None and ((1 + six) / 2) ** 6 >= 0.8 > ((1 + six - 0.01) / 2) ** 6
    thirty, fifty = detectable_net_wins(30), detectable_net_wins(50)
    assert thirty is not None and fifty is not None and fifty < thirty < six
    assert effective_n([4, 4]) == 8.0 and effective_n([1, 1, 1, 20]) == pytest.approx(16 / 3.05)
    assert effective_n([]) == 0.0 and detectable_net_wins(0) is None


def test_detectable_difference_follows_the_interval() -> None:
    small = detectable_difference(paired_difference([(1.0, 1.0), (0.0, 0.0)]))
    large = detectable_difference(paired_difference([(1.0, 1.0), (0.0, 0.0)] * 15))
    assert small is not None and large is not None and large < small
    z = stats.norm.ppf(0.975)
    interval = paired_difference([(1.0, 1.0), (0.0, 0.0)] * 15)
    assert large == pytest.approx((interval.hi - interval.lo) / 2 * (z + stats.norm.ppf(0.8)) / z)


# -- coverage ---------------------------------------------------------------------------------


def _bernoulli(p: float) -> Sampler:
    return lambda rng, t, n: (rng.random((t, n)) < p).astype(float)


def _beta(a: float, b: float) -> Sampler:
    return lambda rng, t, n: rng.beta(a, b, (t, n))


def _points(values: list[float], probs: list[float]) -> Sampler:
    return lambda rng, t, n: rng.choice(np.array(values), (t, n), p=np.array(probs))


def _repeats(a: float, b: float, k: int) -> Sampler:
    """Items of difficulty Beta(a, b), each answered k times pass/fail: the item means."""
    return lambda rng, t, n: (rng.random((t, n, k)) < rng.beta(a, b, (t, n, 1))).mean(axis=2)


SINGLE: dict[str, tuple[Sampler, float]] = {
    **{f"bernoulli {p}": (_bernoulli(p), p) for p in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.95)},
    **{f"beta {a},{b}": (_beta(a, b), a / (a + b)) for a, b in ((0.5, 0.5), (1, 1), (2, 8), (8, 2), (0.3, 3))},
    "rubric-like 5 points": (_points([0, 0.25, 0.5, 0.75, 1], [0.5, 0.1, 0.1, 0.1, 0.2]), 0.35),
    "mostly 1, some 0.8": (_points([1.0, 0.8], [0.9, 0.1]), 0.98),
    "mostly 0, some 0.3": (_points([0.0, 0.3], [0.9, 0.1]), 0.03),
    "narrow 0.4/0.6": (_points([0.4, 0.6], [0.5, 0.5]), 0.5),
    "5 repeats per item": (_repeats(2, 2, 5), 0.5),
    "5 repeats per item, easy": (_repeats(8, 1, 5), 8 / 9),
}


def _paired_binary(px: float, py: float, shared: float) -> tuple[Sampler, float]:
    def draw(rng: np.random.Generator, t: int, n: int) -> np.ndarray:
        u = rng.random((t, n))
        v = np.where(rng.random((t, n)) < shared, u, rng.random((t, n)))
        return (u < px).astype(float) - (v < py).astype(float)
    return draw, px - py


def _paired_scores(a: float, b: float, shared: float) -> tuple[Sampler, float]:
    def draw(rng: np.random.Generator, t: int, n: int) -> np.ndarray:
        return (1 - shared) * (rng.beta(a, b, (t, n)) - rng.beta(b, a, (t, n)))
    return draw, (1 - shared) * (a / (a + b) - b / (a + b))


PAIRED: dict[str, tuple[Sampler, float]] = {
    "0/1, equal, correlated": _paired_binary(0.5, 0.5, 0.9),
    "0/1, +0.1, correlated": _paired_binary(0.6, 0.5, 0.9),
    "0/1, +0.3, weakly correlated": _paired_binary(0.5, 0.2, 0.5),
    "0/1, both near 1": _paired_binary(0.95, 0.95, 0.95),
    "0/1, rare passes": _paired_binary(0.1, 0.05, 0.9),
    "0/1, independent": _paired_binary(0.3, 0.3, 0.0),
    "0/1, always concordant": _paired_binary(0.8, 0.8, 1.0),
    "scores, +0.2": _paired_scores(5, 2, 0.5),
    "scores, equal": _paired_scores(2, 2, 0.0),
}


def _coverage(limits: tuple[np.ndarray, np.ndarray], truth: float) -> float:
    lo, hi = limits
    return float(((lo <= truth + 1e-12) & (truth - 1e-12 <= hi)).mean())


def _single(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return mean_limits(values.sum(axis=1)[:, None], (values ** 2).sum(axis=1)[:, None],
                       np.full((len(values), 1), values.shape[1]))


def _scaled(values: np.ndarray, lower: float, upper: float) -> np.ndarray:
    return (values - lower) / (upper - lower)


@pytest.mark.parametrize("n", SIZES)
def test_coverage_of_the_mean_of_bounded_scores(n: int) -> None:
    rng = np.random.default_rng(20261201 + n)
    low = {name: _coverage(_single(draw(rng, TRIALS, n)), truth) for name, (draw, truth) in SINGLE.items()}
    assert min(low.values()) >= FLOOR, low


@pytest.mark.parametrize("n", SIZES)
def test_coverage_of_paired_differences(n: int) -> None:
    rng = np.random.default_rng(7 + n)
    low = {}
    for name, (draw, truth) in PAIRED.items():
        diffs = _scaled(draw(rng, TRIALS, n), -1.0, 1.0)  # differences live on [-1, 1]
        lo, hi = _single(diffs)
        low[name] = _coverage((2 * lo - 1, 2 * hi - 1), truth)
    assert min(low.values()) >= FLOOR, low


STRATA = {"3 equal": (1, 1, 1), "10 equal": (1,) * 10, "unequal 1:2.5:5": (2, 5, 10),
          "three singletons and a big one": (1, 1, 1, 20)}


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("layout", sorted(STRATA))
def test_coverage_of_equal_weight_means_over_strata(n: int, layout: str) -> None:
    """Strata sizes are the layout times n/2 (at least 1): small and unequal categories."""
    sizes = [max(1, round(k * n / 2)) for k in STRATA[layout]]
    rng = np.random.default_rng(sum(sizes) * 31 + n)
    low = {}
    for name, ps in {"all 0.5": [0.5] * len(sizes), "all 0.1": [0.1] * len(sizes), "all 0.9": [0.9] * len(sizes),
                     "spread": list(np.linspace(0.05, 0.95, len(sizes)))}.items():
        samples = [(rng.random((TRIALS, size)) < p).astype(float) for p, size in zip(ps, sizes, strict=True)]
        sums = np.stack([x.sum(axis=1) for x in samples], axis=1)
        counts = np.tile(np.array(sizes, dtype=float), (TRIALS, 1))
        low[name] = _coverage(mean_limits(sums, sums, counts), float(np.mean(ps)))  # 0/1: squares = sums
    beta = [rng.beta(2, 5, (TRIALS, size)) for size in sizes]
    low["beta 2,5"] = _coverage(mean_limits(np.stack([x.sum(axis=1) for x in beta], axis=1),
                                            np.stack([(x * x).sum(axis=1) for x in beta], axis=1),
                                            np.tile(np.array(sizes, dtype=float), (TRIALS, 1))), 2 / 7)
    assert min(low.values()) >= FLOOR, low


@pytest.mark.parametrize("n", SIZES)
def test_coverage_of_net_wins(n: int) -> None:
    """The net win rate sees only each pair's sign: every paired distribution is a (win,
    tie, loss) mix, so these mixes cover the method, scores of any kind included."""
    rng = np.random.default_rng(500 + n)
    low = {}
    for win, tie in ((0.5, 0.0), (0.3, 0.4), (0.6, 0.3), (0.1, 0.85), (0.0, 0.9), (0.9, 0.0), (0.45, 0.1),
                     (0.05, 0.0), (0.2, 0.8)):
        u = rng.random((TRIALS, n))
        signs = np.where(u < win, 1.0, np.where(u < win + tie, 0.0, -1.0))
        unit = (signs + 1) / 2
        lo, hi = _single(unit)
        low[(win, tie)] = _coverage((2 * lo - 1, 2 * hi - 1), win - (1 - win - tie))
    assert min(low.values()) >= FLOOR, low


@pytest.mark.parametrize("n", SIZES)
def test_clopper_pearson_coverage_is_exact_at_every_p(n: int) -> None:
    """On 0/1 data the mean interval is Clopper-Pearson: by enumeration, never below 95 %."""
    k = np.arange(n + 1)
    lo, hi = mean_limits(k[:, None], k[:, None], np.full((n + 1, 1), n))
    for p in np.linspace(0.01, 0.99, 99):
        assert stats.binom.pmf(k, n, p)[(lo <= p) & (p <= hi)].sum() >= 0.95 - 1e-9


@pytest.mark.parametrize("n", SIZES)
def test_wilson_coverage_averaged_over_p(n: int) -> None:
    """Wilson's coverage, by enumeration, averaged over p in [0.05, 0.95]; pointwise it dips
    (stated in the module), which is why decisions use the mean interval instead."""
    k = np.arange(n + 1)
    bounds = [wilson(int(j), n) for j in k]
    lo, hi = np.array([b.lo for b in bounds]), np.array([b.hi for b in bounds])
    coverage = [stats.binom.pmf(k, n, p)[(lo <= p) & (p <= hi)].sum() for p in np.linspace(0.05, 0.95, 91)]
    assert float(np.mean(coverage)) >= FLOOR


def test_the_scalar_functions_run_the_simulated_core() -> None:
    rng = np.random.default_rng(3)
    sample = rng.beta(2, 5, 7)
    lo, hi = _single(sample[None, :])
    interval = bounded_mean(list(sample))
    assert (interval.lo, interval.hi) == (pytest.approx(float(lo[0])), pytest.approx(float(hi[0])))
    pairs = [(float(x), float(y)) for x, y in rng.random((6, 2))]
    plo, phi = _single(_scaled(np.array([[x - y for x, y in pairs]]), -1.0, 1.0))
    paired = paired_difference(pairs)
    assert (paired.lo, paired.hi) == (pytest.approx(2 * float(plo[0]) - 1), pytest.approx(2 * float(phi[0]) - 1))
