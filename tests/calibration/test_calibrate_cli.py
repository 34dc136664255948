"""`calibrate` and `fleetbench calibrate` over small archives built in tmp dirs."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from archive.store import RunDir, RunStore
from calibration.calibrate import CalibrateResult, calibrate
from calibration.manual_store import ManualScoreLine, append_manual_score
from calibration.schema import (
    RANKINGS_JSON,
    ROUTING_WEIGHTS_JSON,
    SURPRISES_JSONL,
    SURPRISES_MD,
    Rankings,
    RoutingWeights,
    Surprise,
)
from calibration.settings import CalibrationSettings, EmaSettings
from calibration.surprises import record_surprises
from cli.app import app
from harness.errors import InputError
from harness.records import CallRecord

runner = CliRunner()
DEFAULTS = CalibrationSettings()


def rec(run: str, item: str, model: str, adherence: float | None, *, status: str = "ok",
        category: str = "routing") -> CallRecord:
    extra: dict[str, object] = {} if adherence is None else {"adherence": adherence}
    return CallRecord(run_id=run, phase="baseline", item_id=item, model=model, category=category,
                      status=status, extra=extra)  # type: ignore[arg-type]


def make_run(runs: Path, run_id: str, day: int, records: list[CallRecord], *, parent: str | None = None,
             status: str = "completed") -> RunDir:
    run = RunStore(runs).create(run_id, {"run_id": run_id, "created_at": f"2026-11-{day:02d}T00:00:00Z",
                                         "status": status, "parent_run": parent})
    run.append_records(records)
    return run


def six(run: str, model: str, adherence: float, category: str = "routing") -> list[CallRecord]:
    return [rec(run, f"{category}{n}", model, adherence, category=category) for n in range(6)]


def weights_file(runs: Path) -> RoutingWeights:
    return msgspec.json.decode((runs / ROUTING_WEIGHTS_JSON).read_bytes(), type=RoutingWeights)


def first_run(runs: Path) -> CalibrateResult:
    # a: six perfect answers; b: six half answers and one failed call (apart from quality)
    make_run(runs, "r1", 20, six("r1", "a", 1.0) + six("r1", "b", 0.5) + [rec("r1", "routing6", "b", None, status="error")])
    return calibrate(runs, DEFAULTS, now="2026-11-20T01:00:00Z")


def test_first_calibrate_ranks_and_sets_weights(tmp_path: Path) -> None:
    result = first_run(tmp_path)
    assert result.new_runs == ["r1"] and result.weights.version == 1
    assert result.weights.weights == {"a": {"routing": 1.0}, "b": {"routing": 0.5}}
    assert all(c.old is None and c.applied and c.n == 6 for c in result.changes)
    saved = msgspec.json.decode((tmp_path / RANKINGS_JSON).read_bytes(), type=Rankings)
    assert [(r.model, r.rank, r.n) for r in saved.overall] == [("a", 1, 6), ("b", 2, 6)]
    assert saved.overall[1].mean == pytest.approx(50.0) and saved == result.rankings
    assert [(f.model, f.calls, f.provider_errors, f.items) for f in saved.failures] == [("a", 6, 0, 6), ("b", 7, 1, 7)]
    assert weights_file(tmp_path) == result.weights and result.sources == {"adherence": 12}
    assert {p.name for p in result.files} == {RANKINGS_JSON, ROUTING_WEIGHTS_JSON}


def test_calibrating_again_without_new_runs_changes_nothing(tmp_path: Path) -> None:
    first_run(tmp_path)
    before = (tmp_path / ROUTING_WEIGHTS_JSON).read_bytes()
    again = calibrate(tmp_path, CalibrationSettings(ema=EmaSettings(learning_rate=0.9)), now="2026-11-20T02:00:00Z")
    assert again.new_runs == [] and again.changes == [] and again.surprises == []
    assert (tmp_path / ROUTING_WEIGHTS_JSON).read_bytes() == before
    assert [r.model for r in again.rankings.overall] == ["a", "b"]  # rankings still cover every run


def test_a_new_run_moves_weights_once_and_logs_the_surprise(tmp_path: Path) -> None:
    first_run(tmp_path)
    make_run(tmp_path, "r2", 21, six("r2", "a", 0.9) + six("r2", "b", 1.0) + six("r2", "a", 0.4, "docs"))
    settings = CalibrationSettings(ema=EmaSettings(learning_rate=0.3))
    second = calibrate(tmp_path, settings, now="2026-11-21T01:00:00Z")
    by = {(c.model, c.category): c for c in second.changes}
    # a: 1.0 observed at 0.9 (-10%: not above the threshold, logged only); b: 0.5 observed at 1.0 (+100%):
    # 0.5 + 0.3 * 0.5 = 0.65; a/docs: first sight
    assert by[("a", "routing")].new == pytest.approx(0.97) and not by[("a", "routing")].applied
    assert by[("b", "routing")].new == pytest.approx(0.65) and by[("b", "routing")].applied
    assert by[("a", "docs")].old is None and by[("a", "docs")].new == pytest.approx(0.4)
    saved = weights_file(tmp_path)
    assert saved.version == 2 and saved.seen_runs == ["r1", "r2"] and [v.runs for v in saved.history] == [["r1"],
                                                                                                        ["r2"]]
    assert saved.weights["a"]["routing"] == 1.0 and saved.weights["b"]["routing"] == pytest.approx(0.65)
    # a led routing by weight; in r2 b scored 100 against a's 90; docs had no leader yet
    (surprise,) = second.surprises
    assert (surprise.category, surprise.expected_leader, surprise.actual_leader) == ("routing", "a", "b")
    assert surprise.expected_score == pytest.approx(90.0) and (surprise.actual_score, surprise.runs) == (100.0, ["r2"])
    md = (tmp_path / SURPRISES_MD).read_text()
    assert "### 2026-11-21: b excels at routing" in md
    assert "- Expected: a primary" in md and "- Actual: b scored 100.0 (vs a 90.0)" in md and "- Runs: r2" in md
    assert second.summary() | {"files": []} == {
        "weights_version": 2, "new_runs": ["r2"], "changes": 3, "applied": 2, "surprises": ["b beat a at routing"],
        "pending_runs": [], "unreadable_runs": [], "files": []}
    assert json.loads(json.dumps(second.summary()))["files"] == [str(p) for p in second.files]
    calibrate(tmp_path, settings, now="2026-11-22T01:00:00Z")
    assert len((tmp_path / SURPRISES_JSONL).read_bytes().splitlines()) == 1


def test_configured_leader_and_ties_are_not_surprises(tmp_path: Path) -> None:
    make_run(tmp_path, "r1", 20, [rec("r1", "i", "a", 0.9), rec("r1", "i", "b", 0.3),
                                  rec("r1", "i", "x", 0.5, category="docs"), rec("r1", "i", "y", 0.5, category="docs")])
    settings = CalibrationSettings(ema=EmaSettings(expected_leaders={"routing": "b", "docs": "x"}))
    result = calibrate(tmp_path, settings, now="2026-11-20T01:00:00Z")
    assert [(s.category, s.expected_leader, s.actual_leader) for s in result.surprises] == [("routing", "b", "a")]


def test_a_retried_call_counts_once_and_manual_scores_win(tmp_path: Path) -> None:
    parent = make_run(tmp_path, "p", 20, [rec("p", "i0", "a", None, status="error"), rec("p", "i1", "a", 0.0)])
    make_run(tmp_path, "c", 21, [rec("c", "i0", "a", 1.0)], parent="p")  # created after p
    for criterion, points in DEFAULTS.rubric.weights.items():  # a full manual 100 for i1
        append_manual_score(parent.path, ManualScoreLine(key=("baseline", "i1", "a", "", 0), criterion=criterion,
                                                         points=points, max_points=points, scored_at="t"))
    result = calibrate(tmp_path, DEFAULTS, now="2026-11-20T02:00:00Z")
    (row,) = result.rankings.overall
    assert (row.n, row.mean) == (2, 100.0) and result.sources == {"adherence": 1, "manual": 1}
    assert result.weights.weights == {"a": {"routing": 1.0}}


def test_unfinished_runs_wait_for_the_weights_but_show_in_rankings(tmp_path: Path) -> None:
    run = make_run(tmp_path, "r1", 20, six("r1", "a", 0.8), status="interrupted")
    early = calibrate(tmp_path, DEFAULTS, now="2026-11-20T01:00:00Z")
    assert early.pending_runs == ["r1"] and early.new_runs == [] and early.weights.version == 0
    assert [r.model for r in early.rankings.overall] == ["a"]
    run.append_records([rec("r1", "routing6", "a", 0.1)])  # resumed, then finished
    run.update_manifest(status="completed")
    later = calibrate(tmp_path, DEFAULTS, now="2026-11-20T02:00:00Z")
    assert later.new_runs == ["r1"] and later.weights.weights["a"]["routing"] == pytest.approx(4.9 / 7)


def test_an_unreadable_run_is_named_and_left_out(tmp_path: Path) -> None:
    make_run(tmp_path, "good", 20, six("good", "a", 1.0))
    bad = make_run(tmp_path, "bad", 20, six("bad", "z", 1.0))
    bad.results_path.write_bytes(b"not json\n" + bad.results_path.read_bytes())
    result = calibrate(tmp_path, DEFAULTS, now="2026-11-20T01:00:00Z")
    assert list(result.unreadable) == ["bad"] and "results.jsonl:1" in result.unreadable["bad"]
    assert [r.model for r in result.rankings.overall] == ["a"] and result.weights.seen_runs == ["good"]


def test_damaged_weights_stop_calibrate_without_touching_anything(tmp_path: Path) -> None:
    first_run(tmp_path)
    (tmp_path / ROUTING_WEIGHTS_JSON).write_text('{"version": "two"}')
    make_run(tmp_path, "r2", 21, six("r2", "a", 0.2))
    with pytest.raises(InputError, match=ROUTING_WEIGHTS_JSON) as caught:
        calibrate(tmp_path, DEFAULTS)
    assert "version" in str(caught.value)
    assert (tmp_path / ROUTING_WEIGHTS_JSON).read_text() == '{"version": "two"}'
    with pytest.raises(InputError, match="no such run archive"):
        calibrate(tmp_path / "missing", DEFAULTS)


def test_concurrent_calibrations_apply_the_evidence_once(tmp_path: Path) -> None:
    make_run(tmp_path, "r1", 20, six("r1", "a", 1.0) + six("r1", "b", 0.5))
    results: list[CalibrateResult] = []
    threads = [threading.Thread(target=lambda: results.append(calibrate(tmp_path, DEFAULTS))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r.new_runs) for r in results) == [0, 0, 1]
    saved = weights_file(tmp_path)
    assert saved.version == 1 and len(saved.history) == 1 and saved.seen_runs == ["r1"]


def test_surprise_log_survives_a_torn_line_and_skips_repeats(tmp_path: Path) -> None:
    surprise = Surprise(date="2026-11-20", category="code", expected_leader="a", actual_leader="b",
                        expected_score=70.0, actual_score=80.0, runs=["r1"])
    (tmp_path / SURPRISES_JSONL).write_bytes(b'{"date": "2026-11-1')  # a writer killed mid-line
    record_surprises(tmp_path, [surprise])
    record_surprises(tmp_path, [msgspec.structs.replace(surprise, date="2026-11-21")])  # same evidence
    lines = (tmp_path / SURPRISES_JSONL).read_bytes().splitlines()
    assert len(lines) == 2 and msgspec.json.decode(lines[1], type=Surprise) == surprise
    assert (tmp_path / SURPRISES_MD).read_text().startswith("## Surprising Results Log\n\n### 2026-11-20: b excels")


def test_cli_prints_applied_changes_rankings_and_files(tmp_path: Path) -> None:
    make_run(tmp_path, "r1", 20, six("r1", "a", 1.0) + six("r1", "sim/[red]b", 0.5))  # names are not markup
    result = runner.invoke(app, ["calibrate", "--runs-dir", str(tmp_path), "--bootstrap-samples", "200"])
    assert result.exit_code == 0, result.output
    assert "routing weights v1: 2 of 2 changes applied (new runs: r1)" in result.output
    assert "overall ranking (95%" in result.output
    assert "scored records: 12 adherence" in result.output and "category leaders: routing: a" in result.output
    assert result.output.count("sim/[red]b") == 3  # its weight change, its ranking row, and a outranks it
    assert str(tmp_path / RANKINGS_JSON) in result.output and str(tmp_path / ROUTING_WEIGHTS_JSON) in result.output
    # the intervals are closed-form: --bootstrap-samples is accepted and draws nothing
    assert msgspec.json.decode((tmp_path / RANKINGS_JSON).read_bytes(), type=Rankings).bootstrap_samples == 0


def test_cli_overrides_and_config_reach_the_weights(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    make_run(runs, "r1", 20, six("r1", "a", 0.5))
    assert runner.invoke(app, ["calibrate", "--runs-dir", str(runs)]).exit_code == 0
    make_run(runs, "r2", 21, six("r2", "a", 0.7))
    config = tmp_path / "fleet.yaml"
    config.write_text("calibration:\n  ema:\n    learning_rate: 0.3\n    threshold: 0.5\n")
    # 0.5 observed at 0.7 is +40%: under the config's 50% threshold, over the command line's 20%
    held = runner.invoke(app, ["calibrate", "--runs-dir", str(runs), "--config", str(config)])
    assert held.exit_code == 0 and "0 of 1 changes applied" in held.output and "logged but not" in held.output
    make_run(runs, "r3", 22, six("r3", "a", 0.7))
    moved = runner.invoke(app, ["calibrate", "--runs-dir", str(runs), "--config", str(config), "--threshold", "0.2"])
    assert moved.exit_code == 0 and "1 of 1 changes applied" in moved.output
    assert weights_file(runs).weights["a"]["routing"] == pytest.approx(0.56)


@pytest.mark.parametrize(("args", "named"), [
    (["--learning-rate", "0"], "--learning-rate"), (["--learning-rate", "1.5"], "--learning-rate"),
    (["--threshold", "-0.1"], "--threshold"), (["--bootstrap-samples", "10"], "--bootstrap-samples")])
def test_cli_rejects_bad_options_with_exit_2(tmp_path: Path, args: list[str], named: str) -> None:
    result = runner.invoke(app, ["calibrate", "--runs-dir", str(tmp_path), *args])
    assert result.exit_code == 2 and named in result.output
    assert not (tmp_path / RANKINGS_JSON).exists()


def test_cli_bad_config_or_archive_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "fleet.yaml"
    config.write_text("calibration:\n  ema:\n    learning_rat: 0.2\n")
    typo = runner.invoke(app, ["calibrate", "--runs-dir", str(tmp_path), "--config", str(config)])
    assert typo.exit_code == 2 and "fleet.yaml:3" in typo.output and "learning_rat" in typo.output
    config.write_text("calibration:\n  ema:\n    learning_rate: 7\n")
    out_of_range = runner.invoke(app, ["calibrate", "--runs-dir", str(tmp_path), "--config", str(config)])
    assert out_of_range.exit_code == 2 and "learning_rate" in out_of_range.output
    missing = runner.invoke(app, ["calibrate", "--runs-dir", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "nope" in missing.output
    assert not (tmp_path / RANKINGS_JSON).exists()
