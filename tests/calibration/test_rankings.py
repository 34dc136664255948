"""Bootstrap intervals and interval-based ranks on known inputs."""

from __future__ import annotations

import numpy as np
import pytest

import calibration.rankings as rankings_module
from calibration.rankings import bootstrap_interval, build_rankings, rank_rows
from calibration.scores import ScoredRecord


def test_interval_contains_the_mean_within_the_data_and_is_reproducible() -> None:
    values = [60.0, 70.0, 80.0, 90.0, 100.0]
    low, high = bootstrap_interval(values, seed=3)
    assert 60.0 <= low < 80.0 < high <= 100.0
    assert bootstrap_interval(values, seed=3) == (low, high)
    spread = [61.3, 67.9, 72.4, 80.2, 83.7, 91.1, 97.6, 99.5]
    assert bootstrap_interval(spread, seed=3) != bootstrap_interval(spread, seed=4)  # the seed is used


def test_degenerate_samples() -> None:
    assert bootstrap_interval([42.0]) == (0.0, 100.0)  # one sample: no claim about spread
    assert bootstrap_interval([50.0, 50.0, 50.0]) == (50.0, 50.0)  # no spread in the data
    with pytest.raises(ValueError, match="resamples"):
        bootstrap_interval([1.0, 2.0], resamples=0)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_interval([1.0, 2.0], confidence=1.0)


@pytest.mark.parametrize("size", [40, 400])  # 4 distinct values: indices at 40, multinomial counts at 400
def test_interval_agrees_with_the_classic_index_bootstrap(size: int) -> None:
    """Both ways of drawing must give the classic bootstrap's distribution."""
    data = np.random.default_rng(7).choice([0.0, 25.0, 50.0, 100.0], size=size, p=[0.4, 0.1, 0.2, 0.3])
    rng = np.random.default_rng(11)
    classic = data[rng.integers(0, len(data), size=(20000, len(data)))].mean(axis=1)
    expected = np.percentile(classic, [2.5, 97.5])
    tolerance = 0.1 * (expected[1] - expected[0])
    low, high = bootstrap_interval(list(data), resamples=20000, seed=1)
    assert low == pytest.approx(expected[0], abs=tolerance) and high == pytest.approx(expected[1], abs=tolerance)


def test_interval_covers_the_true_mean_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(2026)
    trials, covered = 300, 0
    for trial in range(trials):
        sample = rng.normal(60.0, 15.0, size=30)
        low, high = bootstrap_interval(list(sample), resamples=400, seed=trial)
        covered += low <= 60.0 <= high
    # percentile bootstrap at n = 30 slightly under-covers; far off means a wrong interval
    assert 0.88 <= covered / trials <= 0.99


@pytest.mark.parametrize("values", [[float(v) for v in range(50)], [0.0, 100.0] * 30])
def test_chunked_draws_equal_one_big_draw(monkeypatch: pytest.MonkeyPatch, values: list[float]) -> None:
    whole = bootstrap_interval(values, resamples=500, seed=5)
    monkeypatch.setattr(rankings_module, "_CHUNK_CELLS", 60)  # a few resamples per draw
    assert bootstrap_interval(values, resamples=500, seed=5) == whole


def test_separated_models_rank_apart_and_overlapping_ones_tie() -> None:
    rows = rank_rows({"strong": [95.0, 96.0, 94.0, 97.0] * 3, "weak": [20.0, 25.0, 22.0, 18.0] * 3,
                      "close": [93.0, 98.0, 90.0, 99.0] * 3})
    by = {r.model: r for r in rows}
    assert (by["strong"].rank, by["close"].rank, by["weak"].rank) == (1, 1, 3)
    assert by["strong"].tied_with == ["close"] and by["close"].tied_with == ["strong"]
    assert by["weak"].tied_with == [] and [r.model for r in rows] == ["strong", "close", "weak"]
    assert all(r.n == 12 and r.ci_low <= r.mean <= r.ci_high for r in rows)


def test_rank_counts_only_models_wholly_above() -> None:
    """`mid` overlaps both `b` and `c`, which do not overlap each other: b and mid are
    outranked by `a` only; c by a and b (mid does not count, it overlaps c)."""
    rows = {r.model: r for r in rank_rows({
        "a": [100.0, 99.0] * 10, "b": [80.0, 78.0] * 10, "mid": [80.0, 60.0] * 2, "c": [59.0, 61.0] * 10})}
    assert {m: r.rank for m, r in rows.items()} == {"a": 1, "b": 2, "mid": 2, "c": 3}
    assert rows["mid"].tied_with == ["b", "c"] and rows["c"].tied_with == ["mid"]


def test_single_sample_model_ties_with_everyone() -> None:
    rows = {r.model: r for r in rank_rows({"once": [10.0], "a": [90.0, 92.0] * 5, "b": [20.0, 22.0] * 5})}
    assert rows["once"].rank == 1 and rows["once"].tied_with == ["a", "b"]
    assert (rows["once"].ci_low, rows["once"].ci_high) == (0.0, 100.0)
    assert rows["b"].rank == 2  # `a` is still wholly above `b`


def test_build_rankings_overall_and_per_category() -> None:
    def s(model: str, category: str, score: float) -> ScoredRecord:
        return ScoredRecord(run_id="r", phase="p", item_id="i", model=model, category=category, score=score,
                            source="tool")
    scored = [s("x", "code", 100.0), s("x", "code", 100.0), s("x", "docs", 0.0),
              s("y", "code", 0.0), s("y", "code", 50.0)]
    result = build_rankings(scored, now="t", resamples=200)
    overall = {r.model: r for r in result.overall}
    assert overall["x"].n == 3 and overall["x"].mean == pytest.approx(200 / 3)
    assert overall["y"].n == 2 and overall["y"].mean == pytest.approx(25.0)
    assert sorted(result.by_category) == ["code", "docs"]
    assert [(r.model, r.rank, r.n) for r in result.by_category["code"]] == [("x", 1, 2), ("y", 2, 2)]
    assert [(r.model, r.n) for r in result.by_category["docs"]] == [("x", 1)]
    assert result.bootstrap_samples == 200 and result.generated_at == "t" and "manual" in result.score_source
    assert build_rankings(scored, now="t", resamples=200) == result
