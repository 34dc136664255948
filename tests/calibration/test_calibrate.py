"""`fleetbench calibrate` over a small archive: scores, rankings, EMA, idempotence, surprises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archive.store import RunStore
from calibration.calibrate import calibrate
from calibration.manual_store import ManualScoreLine, append_manual_score
from calibration.schema import SURPRISES_MD
from calibration.scores import record_score
from calibration.settings import CalibrationSettings, EmaSettings
from cli.app import app
from harness.records import CallRecord

runner = CliRunner()


def rec(run: str, item: str, model: str, adherence: float | None, *, status: str = "ok",
        category: str = "routing", phase: str = "baseline", **extra: object) -> CallRecord:
    payload: dict[str, object] = dict(extra)
    if adherence is not None:
        payload["adherence"] = adherence
    return CallRecord(run_id=run, phase=phase, item_id=item, model=model, category=category,
                      status=status, extra=payload)  # type: ignore[arg-type]


def make_run(runs: Path, run_id: str, created: str, records: list[CallRecord], parent: str | None = None) -> Path:
    run = RunStore(runs).create(run_id, {"run_id": run_id, "created_at": created, "status": "completed",
                                         "parent_run": parent})
    run.append_records(records)
    return run.path


def test_score_sources_in_priority_order() -> None:
    base = rec("r", "i", "m", 0.5)
    assert record_score(base, {}) == (50.0, "adherence")
    assert record_score(base, {base.key: 90.0}) == (90.0, "manual")
    rubric = rec("r", "i", "m", 0.5, rubric={"total": 77.0})
    assert record_score(rubric, {}) == (77.0, "rubric")
    assert record_score(rec("r", "i", "m", None, judge_score=60), {}) == (60.0, "judge")
    assert record_score(rec("r", "i", "m", None, phase="tool-use", tool_passed=False), {}) == (0.0, "tool")
    assert record_score(rec("r", "i", "m", None, status="error"), {}) is None
    assert record_score(rec("r", "i", "m", None, status="skipped"), {}) is None
    assert record_score(rec("r", "i", "m", None), {}) is None  # nothing to score by
    assert record_score(rec("r", "i", "m", 1.0, phase="judge-production"), {}) is None


def test_calibrate_ranks_moves_weights_once_and_logs_a_surprise(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_run(runs, "r1", "2026-11-20T00:00:00Z",
             [rec("r1", f"i{n}", "a", 1.0) for n in range(6)] + [rec("r1", f"i{n}", "b", 0.5) for n in range(6)])
    settings = CalibrationSettings()
    first = calibrate(runs, settings, now="2026-11-20T01:00:00Z")
    assert first.new_runs == ["r1"] and first.weights.version == 1
    assert first.weights.weights == {"a": {"routing": 1.0}, "b": {"routing": 0.5}}
    assert [r.model for r in first.rankings.overall] == ["a", "b"] and first.rankings.overall[1].rank == 2
    # calibrating again with no new run changes nothing
    again = calibrate(runs, settings, now="2026-11-20T02:00:00Z")
    assert again.new_runs == [] and again.weights.version == 1 and again.changes == []
    # a new run where b beats a (learning rate 0.3): b rises 30% (applied), a drops 3% (not)
    make_run(runs, "r2", "2026-11-21T00:00:00Z",
             [rec("r2", f"i{n}", "a", 0.9) for n in range(6)] + [rec("r2", f"i{n}", "b", 1.0) for n in range(6)])
    second = calibrate(runs, CalibrationSettings(ema=EmaSettings(learning_rate=0.3)), now="2026-11-21T01:00:00Z")
    by = {c.model: c for c in second.changes}
    assert by["a"].new == pytest.approx(0.97) and not by["a"].applied
    assert by["b"].new == pytest.approx(0.65) and by["b"].applied
    assert second.weights.weights["a"]["routing"] == 1.0
    assert [(s.expected_leader, s.actual_leader) for s in second.surprises] == [("a", "b")]
    assert "b excels at routing" in (runs / SURPRISES_MD).read_text()
    saved = json.loads((runs / "routing_weights.json").read_text())
    assert saved["seen_runs"] == ["r1", "r2"] and len(saved["history"]) == second.weights.version


def test_retry_child_supersedes_and_manual_scores_win(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    parent = make_run(runs, "p", "2026-11-20T00:00:00Z", [rec("p", "i0", "a", None, status="error"),
                                                          rec("p", "i1", "a", 0.0)])
    make_run(runs, "c", "2026-11-20T01:00:00Z", [rec("c", "i0", "a", 1.0)], parent="p")
    weights = CalibrationSettings().rubric.weights
    for criterion, points in weights.items():  # a full manual score of 100 for i1
        append_manual_score(parent, ManualScoreLine(key=("baseline", "i1", "a", "", 0), criterion=criterion,
                                                    points=points, max_points=points, scored_at="t"))
    result = calibrate(runs, CalibrationSettings(), now="2026-11-20T02:00:00Z")
    (row,) = result.rankings.overall
    assert row.n == 2 and row.mean == 100.0  # the retried error is gone, the manual 100 counts


def test_expected_leader_from_config(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_run(runs, "r1", "2026-11-20T00:00:00Z", [rec("r1", "i", "a", 0.9), rec("r1", "i", "b", 0.3)])
    settings = CalibrationSettings(ema=EmaSettings(expected_leaders={"routing": "b"}))
    result = calibrate(runs, settings, now="2026-11-20T01:00:00Z")
    assert [(s.expected_leader, s.actual_leader) for s in result.surprises] == [("b", "a")]


def test_cli_prints_changes_and_rejects_bad_input(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_run(runs, "r1", "2026-11-20T00:00:00Z", [rec("r1", "i", "a", 0.9)])
    result = runner.invoke(app, ["calibrate", "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    assert "routing weights v1" in result.output and "rankings.json" in result.output
    bad = runner.invoke(app, ["calibrate", "--runs-dir", str(runs), "--learning-rate", "3"])
    assert bad.exit_code == 2 and "--learning-rate" in bad.output
    missing = runner.invoke(app, ["calibrate", "--runs-dir", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "nope" in missing.output
    config = tmp_path / "fleet.yaml"
    config.write_text("calibration:\n  ema:\n    learning_rat: 0.2\n")
    typo = runner.invoke(app, ["calibrate", "--runs-dir", str(runs), "--config", str(config)])
    assert typo.exit_code == 2 and "fleet.yaml:3" in typo.output and "learning_rat" in typo.output
