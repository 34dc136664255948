"""EMA routing weights on hand-computed numbers: steps, the strict threshold, versions."""

from __future__ import annotations

import pytest

from calibration.ema import ema_step, passes_threshold, update_weights
from calibration.schema import RoutingWeights


def test_ema_step_and_strict_threshold_by_hand() -> None:
    assert ema_step(0.5, 0.9, 0.1) == pytest.approx(0.54)  # +0.04 on 0.5: 8%
    assert not passes_threshold(0.5, 0.54, 0.10)
    assert ema_step(0.5, 1.0, 0.1) == pytest.approx(0.55)  # exactly 10%: not strictly above
    assert not passes_threshold(0.5, ema_step(0.5, 1.0, 0.1), 0.10)
    assert ema_step(0.5, 1.0, 0.3) == pytest.approx(0.65)  # 30%
    assert passes_threshold(0.5, 0.65, 0.10)
    assert ema_step(0.8, 0.2, 0.25) == pytest.approx(0.65)  # downwards: -0.15 on 0.8 = 18.75%
    assert passes_threshold(0.8, 0.65, 0.10) and not passes_threshold(0.8, 0.65, 0.1875)
    assert passes_threshold(0.0, 0.1, 0.10) and not passes_threshold(0.0, 0.0, 0.10)  # from zero
    assert passes_threshold(0.5, 0.5001, 0.0) and not passes_threshold(0.5, 0.5, 0.0)


def test_first_observation_sets_the_weight_and_later_ones_smooth() -> None:
    start = RoutingWeights(weights={"a": {"code": 0.5}, "b": {"code": 0.5}})
    weights, changes = update_weights(start, {("a", "code"): 1.0, ("b", "code"): 0.0, ("c", "docs"): 0.7},
                                      runs=["r1"], learning_rate=0.3, threshold=0.10, now="t1")
    by = {(c.model, c.category): c for c in changes}
    assert by[("a", "code")].old == 0.5 and by[("a", "code")].new == pytest.approx(0.65) and by[("a", "code")].applied
    assert by[("b", "code")].new == pytest.approx(0.35) and by[("b", "code")].applied
    first = by[("c", "docs")]
    assert (first.old, first.new, first.observed, first.applied) == (None, 0.7, 0.7, True)
    assert weights.weights == {"a": {"code": pytest.approx(0.65)}, "b": {"code": pytest.approx(0.35)},
                               "c": {"docs": pytest.approx(0.7)}}
    assert weights.version == 1 and weights.updated_at == "t1" and weights.seen_runs == ["r1"]
    assert [(v.version, v.runs, len(v.changes)) for v in weights.history] == [(1, ["r1"], 3)]
    assert start.weights == {"a": {"code": 0.5}, "b": {"code": 0.5}}  # the input is not mutated


def test_small_moves_are_logged_not_applied_and_do_not_version() -> None:
    start = RoutingWeights(version=4, updated_at="t0", weights={"a": {"code": 0.5}})
    after, changes = update_weights(start, {("a", "code"): 0.9}, runs=["r2"], learning_rate=0.1,
                                    threshold=0.10, now="t2")
    (change,) = changes
    assert change.new == pytest.approx(0.54) and change.observed == 0.9 and not change.applied
    assert after.version == 4 and after.updated_at == "t0" and after.weights == {"a": {"code": 0.5}}
    assert after.seen_runs == ["r2"] and after.history == []  # weighed once, never again


def test_one_applied_change_versions_and_keeps_the_unapplied_ones_in_the_log() -> None:
    start = RoutingWeights(version=1, weights={"a": {"code": 0.5}, "b": {"code": 0.5}}, seen_runs=["r1"])
    after, _ = update_weights(start, {("a", "code"): 1.0, ("b", "code"): 0.6}, runs=["r2", "r3"],
                              learning_rate=0.3, threshold=0.10, now="t3")
    # a: 0.5 -> 0.65 (30%, applied); b: 0.5 -> 0.53 (6%, logged only)
    assert after.version == 2 and after.weights == {"a": {"code": pytest.approx(0.65)}, "b": {"code": 0.5}}
    (version,) = after.history
    assert version.runs == ["r2", "r3"] and after.seen_runs == ["r1", "r2", "r3"]
    assert [(c.model, round(c.new, 6), c.applied) for c in version.changes] == [("a", 0.65, True),
                                                                               ("b", 0.53, False)]
    assert (after.learning_rate, after.threshold) == (0.3, 0.10)


def test_observations_are_clipped_and_no_evidence_changes_nothing() -> None:
    start = RoutingWeights(weights={"a": {"code": 0.5}})
    after, changes = update_weights(start, {("a", "code"): 1.7, ("z", "new"): -0.2}, runs=["r"],
                                    learning_rate=0.5, threshold=0.1, now="t")
    assert after.weights["a"]["code"] == pytest.approx(0.75) and after.weights["z"]["new"] == 0.0
    assert sorted(c.observed for c in changes) == [0.0, 1.0]
    same, none = update_weights(after, {}, runs=[], learning_rate=0.9, threshold=0.5, now="later")
    assert same is after and none == []
