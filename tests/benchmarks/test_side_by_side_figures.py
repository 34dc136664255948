"""Percentiles and rates carry n and an interval; the interval is unbounded, not made
up, where the data cannot bound it."""

from __future__ import annotations

import pytest
from sidebyside.figures import Figure, count_rate, difference, percentile


def test_percentile_interval_brackets_the_point_and_carries_n() -> None:
    values = [float(v) for v in range(1, 101)]
    p50 = percentile(values, 50)
    assert p50.point == pytest.approx(50.5) and p50.n == 100
    assert p50.lo is not None and p50.hi is not None
    assert p50.lo < 50.5 < p50.hi
    # order statistics: the 95 % interval of a median of 100 spans about +-10 ranks
    assert 35 <= p50.lo <= 45 and 55 <= p50.hi <= 65


def test_small_samples_leave_a_side_unbounded() -> None:
    p95 = percentile([10.0, 11.0, 12.0, 13.0, 14.0], 95)
    assert p95.point == pytest.approx(13.8)
    assert p95.hi is None  # five samples cannot bound a p95 from above
    single = percentile([7.0], 50)
    assert single == Figure(point=7.0, lo=None, hi=None, n=1)
    assert percentile([], 50) == Figure(point=None, lo=None, hi=None, n=0)


def test_count_rate_uses_the_exact_poisson_interval() -> None:
    zero = count_rate(0, 1.0)
    assert zero.point == 0.0 and zero.lo == 0.0
    assert zero.hi == pytest.approx(3.689, abs=1e-3)  # the textbook 95 % bound for 0 events
    ten = count_rate(10, 2.0)
    assert ten.point == pytest.approx(5.0) and ten.n == 10
    assert ten.lo == pytest.approx(4.795 / 2, abs=1e-3) and ten.hi == pytest.approx(18.390 / 2, abs=1e-3)
    with pytest.raises(ValueError):
        count_rate(3, 0.0)


def test_difference_needs_both_points() -> None:
    a = Figure(point=60.0, lo=None, hi=None, n=3)
    b = Figure(point=52.5, lo=None, hi=None, n=3)
    assert difference(a, b) == pytest.approx(7.5)
    assert difference(a, Figure(point=None, lo=None, hi=None, n=0)) is None
