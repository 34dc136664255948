"""EMA routing weights and rankings on hand-computed inputs."""

from __future__ import annotations

import pytest

from calibration.ema import ema_step, passes_threshold, update_weights
from calibration.rankings import bootstrap_interval, rank_rows
from calibration.schema import RoutingWeights


def test_ema_step_and_threshold_by_hand() -> None:
    assert ema_step(0.5, 0.9, 0.1) == pytest.approx(0.54)  # 8% change
    assert not passes_threshold(0.5, 0.54, 0.10)
    assert ema_step(0.5, 1.0, 0.1) == pytest.approx(0.55)  # exactly 10%: not strictly above
    assert not passes_threshold(0.5, 0.55, 0.10)
    assert ema_step(0.5, 1.0, 0.3) == pytest.approx(0.65)  # 30%
    assert passes_threshold(0.5, 0.65, 0.10)
    assert passes_threshold(0.0, 0.1, 0.10) and not passes_threshold(0.0, 0.0, 0.10)


def test_update_applies_only_above_threshold_and_versions() -> None:
    start = RoutingWeights(weights={"a": {"code": 0.5}, "b": {"code": 0.5}})
    weights, changes = update_weights(start, {("a", "code"): 1.0, ("b", "code"): 0.0, ("c", "docs"): 0.7},
                                      runs=["r1"], learning_rate=0.3, threshold=0.10, now="t1")
    by = {(c.model, c.category): c for c in changes}
    assert by[("a", "code")].new == pytest.approx(0.65) and by[("a", "code")].applied
    assert by[("b", "code")].new == pytest.approx(0.35) and by[("b", "code")].applied
    assert by[("c", "docs")].old is None and by[("c", "docs")].new == pytest.approx(0.7)
    assert weights.weights == {"a": {"code": pytest.approx(0.65)}, "b": {"code": pytest.approx(0.35)},
                               "c": {"docs": pytest.approx(0.7)}}
    assert weights.version == 1 and weights.history[-1].runs == ["r1"] and weights.seen_runs == ["r1"]
    # a small move is logged but not applied, and does not bump the version
    again, changes = update_weights(weights, {("a", "code"): 0.7}, runs=["r2"], learning_rate=0.1,
                                    threshold=0.10, now="t2")
    assert changes[0].new == pytest.approx(0.655) and not changes[0].applied
    assert again.version == 1 and again.weights["a"]["code"] == pytest.approx(0.65)
    assert again.seen_runs == ["r1", "r2"]


def test_bootstrap_interval_contains_mean_and_is_reproducible() -> None:
    values = [60.0, 70.0, 80.0, 90.0, 100.0]
    low, high = bootstrap_interval(values, seed=3)
    assert low <= 80.0 <= high and 60.0 <= low < high <= 100.0
    assert bootstrap_interval(values, seed=3) == (low, high)
    assert bootstrap_interval([42.0]) == (0.0, 100.0)  # one sample: no claim about spread
    assert bootstrap_interval([50.0, 50.0, 50.0]) == (50.0, 50.0)


def test_separated_models_rank_apart_and_overlapping_tie() -> None:
    rows = rank_rows({"strong": [95.0, 96.0, 94.0, 97.0] * 3, "weak": [20.0, 25.0, 22.0, 18.0] * 3,
                      "close": [93.0, 98.0, 90.0, 99.0] * 3})
    by = {r.model: r for r in rows}
    assert by["strong"].rank == 1 and by["close"].rank == 1  # intervals overlap: a tie
    assert by["strong"].tied_with == ["close"] and by["close"].tied_with == ["strong"]
    assert by["weak"].rank == 3 and by["weak"].tied_with == []
    assert [r.model for r in rows][-1] == "weak" and all(r.n == 12 for r in rows)
