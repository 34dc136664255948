"""Latency summaries: exact like harness.timing.percentile while small, a bounded sketch past
the limit, and merges that depend only on the values."""

from __future__ import annotations

import random

import msgspec
import pytest

from archive.latency import EXACT_LIMIT, RELATIVE_ACCURACY, Latencies
from harness.timing import percentile


def _of(values: list[float]) -> Latencies:
    out = Latencies()
    for v in values:
        out.add(v)
    return out


def _round_trip(summary: Latencies) -> Latencies:
    return Latencies.from_builtins(msgspec.msgpack.decode(msgspec.msgpack.encode(summary.to_builtins())))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 10, 999, EXACT_LIMIT])
def test_exact_up_to_the_limit_is_the_harness_percentile(n: int) -> None:
    rng = random.Random(n)
    values = [rng.lognormvariate(5, 1) for _ in range(n)]
    summary = _of(values)
    assert summary.exact and len(summary) == n
    for q in (0, 50, 95, 99, 100):
        assert summary.percentile(q) == percentile(values, q)
    assert _round_trip(summary).percentiles(50, 95) == summary.percentiles(50, 95)


@pytest.mark.parametrize("dist", ["lognormal", "uniform", "ties", "with_zeros", "tokens"])
def test_past_the_limit_a_sketch_within_its_stated_error(dist: str) -> None:
    rng = random.Random(dist)
    n = 3 * EXACT_LIMIT + 17
    make = {
        "lognormal": lambda: rng.lognormvariate(6, 1.5),
        "uniform": lambda: rng.uniform(1, 60_000),
        "ties": lambda: float(rng.choice([12.5, 40.0, 41.0, 900.0])),
        "with_zeros": lambda: 0.0 if rng.random() < 0.3 else rng.expovariate(1 / 50),
        "tokens": lambda: float(rng.randint(1, 40_000)),
    }[dist]
    values = [make() for _ in range(n)]
    summary = _of(values)
    assert not summary.exact and len(summary) == n
    assert len(summary.values) < 5000  # only the unbinned tail is held as values
    for q in (0, 1, 25, 50, 90, 95, 99, 100):
        exact = percentile(values, q)
        estimate = summary.percentile(q)
        assert exact is not None and estimate is not None
        assert abs(estimate - exact) <= RELATIVE_ACCURACY * exact + 1e-9, (q, exact, estimate)


def test_merges_are_order_free_in_both_modes() -> None:
    rng = random.Random(7)
    for n in (500, 2 * EXACT_LIMIT + 5):
        values = [rng.lognormvariate(4, 1) for _ in range(n)]
        whole = _of(values)
        for cut in (0, 1, n // 3, n - 1, n):
            left, right = _of(values[:cut]), _round_trip(_of(values[cut:]))
            left.merge(right)
            assert left.exact == whole.exact == (n <= EXACT_LIMIT)
            assert left.percentiles(0, 50, 95, 100) == whole.percentiles(0, 50, 95, 100)
        backwards = _of(values[n // 2:])
        backwards.merge(_of(values[: n // 2]))
        assert backwards.percentiles(50, 95) == whole.percentiles(50, 95)


def test_sketch_survives_the_cache_round_trip() -> None:
    values = [float(v) for v in range(1, 3 * EXACT_LIMIT)]
    summary = _of(values)
    restored = _round_trip(summary)
    assert len(restored) == len(summary) and not restored.exact
    assert restored.percentiles(5, 50, 95) == summary.percentiles(5, 50, 95)
    restored.add(5.0)
    assert len(restored) == len(summary) + 1


def test_empty_and_garbage_restore_to_empty() -> None:
    assert Latencies().percentiles(50, 95) == [None, None]
    assert len(Latencies.from_builtins(None)) == 0
