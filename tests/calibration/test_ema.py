"""EMA routing weights: the threshold on the observation, both directions at the defaults,
versions, and a weights file written under the step-threshold rule still read."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from calibration.calibrate import load_weights
from calibration.ema import ema_step, passes_threshold, update_weights
from calibration.schema import ROUTING_WEIGHTS_JSON, RoutingWeights
from calibration.settings import CalibrationSettings, EmaSettings

DEFAULT = EmaSettings()
STEP_RULE_FILE = Path(__file__).parent.parent / "fixtures" / "routing_weights_step_rule.json"


def step(start: RoutingWeights, observed: dict[tuple[str, str], float], run: str = "r") -> RoutingWeights:
    after, _ = update_weights(start, observed, runs=[run], learning_rate=DEFAULT.learning_rate,
                              threshold=DEFAULT.threshold, now="t")
    return after


def test_the_defaults_are_the_workflows() -> None:
    assert (DEFAULT.learning_rate, DEFAULT.threshold) == (0.1, 0.10)


def test_weights_rise_and_fall_at_the_default_settings() -> None:
    """The measured defect: at lr 0.1 and 10 % a weight moved only when |observed - old| >
    old, so it could never fall and no weight >= 0.5 ever moved."""
    start = RoutingWeights(weights={"up": {"code": 0.5}, "down": {"code": 0.9}, "low": {"code": 0.2}})
    after = step(start, {("up", "code"): 0.8, ("down", "code"): 0.5, ("low", "code"): 0.1})
    assert after.weights["up"]["code"] == pytest.approx(0.53)  # 0.5 observed at 0.8 (+60 %): up
    assert after.weights["down"]["code"] == pytest.approx(0.86)  # 0.9 observed at 0.5 (-44 %): down
    assert after.weights["low"]["code"] == pytest.approx(0.19)  # 0.2 observed at 0.1 (-50 %): down
    assert after.version == 1 and all(c.applied for c in after.history[0].changes)


def test_the_threshold_compares_the_observation_with_the_weight() -> None:
    assert not passes_threshold(0.5, 0.55, 0.10)  # exactly 10 %: not strictly above
    assert passes_threshold(0.5, 0.56, 0.10) and passes_threshold(0.5, 0.44, 0.10)
    assert not passes_threshold(0.8, 0.75, 0.10)  # 6.25 % below: held
    assert passes_threshold(0.0, 0.1, 0.10) and not passes_threshold(0.0, 0.0, 0.10)  # from zero
    assert passes_threshold(0.5, 0.5001, 0.0) and not passes_threshold(0.5, 0.5, 0.0)
    assert ema_step(0.5, 0.9, 0.1) == pytest.approx(0.54) and ema_step(0.8, 0.2, 0.25) == pytest.approx(0.65)


def test_a_small_observed_change_is_logged_not_applied_and_does_not_version() -> None:
    start = RoutingWeights(version=4, updated_at="t0", weights={"a": {"code": 0.5}})
    after, changes = update_weights(start, {("a", "code"): 0.53}, runs=["r2"], learning_rate=0.1,
                                    threshold=0.10, now="t2", items={("a", "code"): 7})
    (change,) = changes
    assert change.new == pytest.approx(0.503) and change.observed == 0.53 and not change.applied and change.n == 7
    assert after.version == 4 and after.updated_at == "t0" and after.weights == {"a": {"code": 0.5}}
    assert after.seen_runs == ["r2"] and after.history == []  # weighed once, never again


def test_first_observation_sets_the_weight_and_versions_keep_every_change() -> None:
    start = RoutingWeights(version=1, weights={"a": {"code": 0.5}, "b": {"code": 0.5}}, seen_runs=["r1"])
    after, _ = update_weights(start, {("a", "code"): 1.0, ("b", "code"): 0.52, ("c", "docs"): 0.7},
                              runs=["r2", "r3"], learning_rate=0.3, threshold=0.10, now="t3")
    assert after.weights == {"a": {"code": pytest.approx(0.65)}, "b": {"code": 0.5}, "c": {"docs": 0.7}}
    (version,) = after.history
    assert version.runs == ["r2", "r3"] and after.seen_runs == ["r1", "r2", "r3"] and version.updated_at == "t3"
    assert [(c.model, c.old, round(c.new, 6), c.applied) for c in version.changes] == [
        ("a", 0.5, 0.65, True), ("b", 0.5, 0.506, False), ("c", None, 0.7, True)]
    assert start.weights == {"a": {"code": 0.5}, "b": {"code": 0.5}}  # the input is not mutated


def test_observations_are_clipped_and_no_evidence_changes_nothing() -> None:
    start = RoutingWeights(weights={"a": {"code": 0.5}})
    after, changes = update_weights(start, {("a", "code"): 1.7, ("z", "new"): -0.2}, runs=["r"],
                                    learning_rate=0.5, threshold=0.1, now="t")
    assert after.weights["a"]["code"] == pytest.approx(0.75) and after.weights["z"]["new"] == 0.0
    assert sorted(c.observed for c in changes) == [0.0, 1.0]
    same, none = update_weights(after, {}, runs=[], learning_rate=0.9, threshold=0.5, now="later")
    assert same is after and none == []


def test_a_file_written_under_the_step_threshold_rule_is_read_and_moves_by_this_one(tmp_path: Path) -> None:
    (tmp_path / ROUTING_WEIGHTS_JSON).write_bytes(STEP_RULE_FILE.read_bytes())
    old = load_weights(tmp_path, CalibrationSettings())
    assert old.version == 2 and old.weights == {"local/gemma3-270m": {"code": 0.45}, "local/smollm2-135m": {"code": 0.2}}
    assert [c.applied for v in old.history for c in v.changes] == [True, True, True, False]
    assert all(c.n == 0 for v in old.history for c in v.changes)  # not recorded then
    after = step(old, {("local/gemma3-270m", "code"): 0.2, ("local/smollm2-135m", "code"): 0.5}, run="r3")
    assert after.weights["local/gemma3-270m"]["code"] == pytest.approx(0.425)  # falls
    assert after.weights["local/smollm2-135m"]["code"] == pytest.approx(0.23)  # rises
    assert after.version == 3 and len(after.history) == 3 and after.seen_runs[-1] == "r3"
    again = msgspec.json.decode(msgspec.json.encode(after), type=RoutingWeights)
    assert again == after
