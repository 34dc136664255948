"""The vectorised bootstrap draws exactly what the `random.randrange` loop draws."""

from __future__ import annotations

import random

import pytest

from agents.phases.resample import integral, resampled_means
from agents.phases.tool_use import bootstrap_ci


def _loop_means(values: list[float], resamples: int, seed: int) -> list[float]:
    """The loop bootstrap_ci ran before numpy: the reference."""
    rng = random.Random(seed)
    n = len(values)
    return [sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples)]


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 64, 100, 1000, 1025, 4097])
@pytest.mark.parametrize("seed", [0, 1, 98765])
def test_same_means_as_the_loop(n: int, seed: int) -> None:
    rng = random.Random(n * 7 + seed)
    outcomes = [float(rng.random() < 0.4) for _ in range(n)]
    diffs = [float(rng.choice([-1, 0, 0, 1])) for _ in range(n)]
    for values in (outcomes, diffs):
        resamples = 1000 if n <= 100 else 60
        assert resampled_means(values, resamples, seed).tolist() == _loop_means(values, resamples, seed)


def test_bootstrap_ci_unchanged_and_falls_back_for_fractions() -> None:
    rng = random.Random(5)
    outcomes = [float(rng.random() < 0.3) for _ in range(200)]
    means = sorted(_loop_means(outcomes, 1000, 0))
    assert bootstrap_ci(outcomes) == (means[25], means[975])
    fractions = [rng.random() for _ in range(30)]
    assert not integral(fractions)
    means = sorted(_loop_means(fractions, 1000, 3))
    assert bootstrap_ci(fractions, seed=3) == (means[25], means[975])


def test_outcome_lists_never_take_the_python_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop costs ~3.8 s of CPU for 20k outcomes here (numpy: ~0.3 s); make sure 0/1
    outcomes never reach it."""
    values = [float(i % 3 == 0) for i in range(20_000)]
    expected = bootstrap_ci(values)

    def no_loop(self: random.Random, *args: object) -> int:
        raise AssertionError("randrange called")

    monkeypatch.setattr(random.Random, "randrange", no_loop)
    assert bootstrap_ci(values) == expected
