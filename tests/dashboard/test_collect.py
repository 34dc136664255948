"""Data collection from a synthetic runs directory: lineages, per-tab numbers, optional files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from calibration.manual_store import ManualScoreLine, append_manual_score
from calibration.settings import RUBRIC_DEFAULT
from dashboard.collect import collect, mean_scores
from harness.errors import InputError
from harness.records import CallRecord
from tests.dashboard.fixture_runs import (
    ALPHA,
    ALPHA_RANK_MEAN,
    BETA,
    DATASET_HASH,
    HOSTILE,
    RUN_A,
    RUN_B,
    RUN_C,
    build_runs,
    rec,
)


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    return build_runs(tmp_path / "runs")


def test_overview_counts_a_retried_key_once(runs: Path) -> None:
    data = collect(runs)
    o = data.overview
    assert (o.runs, o.lineages, o.dates) == (3, 2, ["2026-01-10", "2026-01-11"])
    assert o.models == sorted([ALPHA, BETA, HOSTILE])
    alpha = next(m for m in data.model_totals if m.model == ALPHA)
    # run C's success replaces run A's rate_limited error for i8; i9 stays an error
    assert (alpha.calls, alpha.ok, alpha.error) == (25, 24, 1)
    assert alpha.success_rate == pytest.approx(0.96)
    assert o.calls == sum(m.calls for m in data.model_totals)


def test_history_lists_each_run_with_its_own_records(runs: Path) -> None:
    history = collect(runs).history
    assert [r.run_id for r in history.runs] == [RUN_A, RUN_C, RUN_B]
    run_a, run_c, run_b = history.runs
    assert run_c.parent_run == RUN_A and run_c.lineage == RUN_A
    assert (run_c.records, run_c.success_rate) == (1, 1.0)
    # run A's alpha, by item (its two errors, i8 and i9, are no answers; an item's variants are one unit) and
    # with categories weighing equally: coding i1, i3, i5 = 100, i7 = 50 -> 87.5; json i0, i2, i4 = 100,
    # i6 = 50 -> 87.5; general: long-context lc0 (100, 100, 0) = 66.7, tool t0 (100, 100) = 100,
    # t1 (0, 100) = 50, streaming s0-s3 = 100 each -> 616.7 / 7
    assert run_a.mean_score[ALPHA] == pytest.approx((87.5 + 87.5 + (200 / 3 + 150 + 400) / 7) / 3)
    assert run_b.mean_score == {ALPHA: 100.0, BETA: 50.0}
    assert run_b.scores[ALPHA].n == 4 and run_b.scores[ALPHA].lo < 100.0 == run_b.scores[ALPHA].hi  # with n
    assert [p.date for p in history.dates] == ["2026-01-10", "2026-01-11"]
    assert history.dates[1].runs == 2 and history.dates[1].success_rate == 1.0
    assert history.weights is not None and [v.version for v in history.weights.history] == [1, 2]
    # the torn last line of surprises.jsonl is a killed writer, not corruption
    assert [s.actual_leader for s in history.surprises] == [BETA]


def test_long_context_rows_count_context_overflow(runs: Path) -> None:
    rows = {(r.model, r.label): r for r in collect(runs).long_context}
    assert sorted({label for _, label in rows}) == ["2k", "32k", "8k"]
    beta_32k = rows[(BETA, "32k")]
    assert (beta_32k.calls, beta_32k.ok, beta_32k.context_overflow, beta_32k.adherence) == (1, 0, 1, None)
    assert rows[(ALPHA, "32k")].adherence == 0.0 and rows[(ALPHA, "2k")].ttft_p50_ms == pytest.approx(204.8)
    assert [r.context_tokens for r in collect(runs).long_context if r.model == ALPHA] == [2048, 8192, 32768]


def test_long_context_depths_are_their_own_rows_like_the_phase_table() -> None:
    from dashboard.collect_perf import long_context

    fenced = {"type": "json", "passed": False, "detail": "valid JSON wrapped in code fence"}
    records = [rec("r", "long-context", "i", ALPHA, variant="8k", context_tokens=8192, adherence=1.0),
               rec("r", "long-context", "i", ALPHA, variant="8k@50%", context_tokens=8192, payload_depth=50,
                   adherence=0.5, constraints=[fenced]),
               rec("r", "long-context", "j", ALPHA, variant="8k@50%", status="error", error_class="context_overflow")]
    rows = long_context(records)
    assert [(r.label, r.payload_depth, r.calls, r.ok, r.context_overflow) for r in rows] == [
        ("8k@50%", 50, 2, 1, 1), ("8k", 100, 1, 1, 0)]
    assert rows[0].top_failure == "json: valid JSON wrapped in code fence (1)" and rows[1].top_failure == "-"
    assert rows[0].prompt_tokens_p50 == 10.0  # the fixture's input_tokens


def test_tool_use_pass_rates_failures_and_tiers(runs: Path) -> None:
    tu = collect(runs).tool_use
    cells = {(r.model, r.variant): r for r in tu.rows}
    assert (cells[(ALPHA, "baseline")].passed, cells[(ALPHA, "baseline")].pass_rate) == (1, 0.5)
    assert cells[(ALPHA, "few-shot")].pass_rate == 1.0 and cells[(ALPHA, "few-shot")].modes == ["prompt"]
    assert [r.variant for r in tu.rows if r.model == ALPHA] == ["baseline", "few-shot"]
    # the scorer's own order of failure classes, not alphabetical
    assert list(tu.failures[BETA].items()) == [("hallucinated_tool", 1), ("refusal", 1)]
    tiers = {t.model: t for t in tu.tiers}
    # two items cannot place a model in a tier: few-shot's 2 of 2 is [15.8%, 100%]
    assert (tiers[ALPHA].tier, tiers[ALPHA].best_variant, tiers[ALPHA].label) == (None, "few-shot",
                                                                                  "uncertain: tier 1-3")
    assert tiers[ALPHA].ci_low == pytest.approx(0.158, abs=1e-3) and tiers[ALPHA].ci_high == 1.0
    assert tiers[BETA].tier is None and tiers[BETA].ci_low == 0.0


def test_tool_tiers_need_the_whole_interval_in_range() -> None:
    from dashboard.collect_perf import tool_use

    def calls(model: str, passed: int, items: int) -> list[CallRecord]:
        return [rec("r", "tool-use", f"t{k}", model, variant="baseline", tool_passed=k < passed)
                for k in range(items)]
    tiers = {t.model: t for t in tool_use(calls("sure", 30, 30) + calls("weak", 0, 30) + calls("mid", 17, 30)
                                          + calls("few", 4, 4)).tiers}
    assert (tiers["sure"].tier, tiers["sure"].label) == (1, "1 (capable)")  # [88.4%, 100%]
    assert (tiers["weak"].tier, tiers["weak"].label) == (3, "3 (incapable)")  # [0%, 11.6%]
    assert (tiers["mid"].tier, tiers["mid"].label) == (2, "2 (partial)")  # [37.4%, 75.4%]
    assert (tiers["few"].tier, tiers["few"].label) == (None, "uncertain: tier 1-2")  # [39.8%, 100%]


def test_tool_tiers_follow_the_runs_configured_thresholds(tmp_path: Path) -> None:
    runs = build_runs(tmp_path / "runs")
    manifest_path = next(runs.glob(f"*/{RUN_A}/manifest.json"))
    manifest = json.loads(manifest_path.read_text())
    manifest["config"]["tool_use"] = {"tier1_min": 0.9, "tier2_min": 0.0}
    manifest_path.write_text(json.dumps(manifest))
    tu = collect(runs).tool_use
    assert (tu.tier1_min, tu.tier2_min) == (0.9, 0.0)
    assert {t.model: t.tier for t in tu.tiers}[BETA] == 2


def test_latency_leaves_long_context_out_and_labels_streaming(runs: Path) -> None:
    lat = collect(runs).latency
    assert "long-context" not in lat.phases and "streaming-ttft" in lat.phases
    labels = {s.model: s.labels for s in lat.streaming}
    assert labels == {ALPHA: ["fast"], BETA: ["slow to start"]}
    # beta's ok calls without long-context: 10 + 4 baseline, 2 tool-use, 4 streaming (not its 2 long-context)
    beta = next(r for r in lat.rows if r.model == BETA)
    assert beta.ok == 20 and lat.scatter[BETA][0] == (300.0, 900.0)


def test_calibration_files_are_read_into_the_contract(runs: Path) -> None:
    data = collect(runs)
    assert data.rankings is not None and data.rankings.overall[0].mean == ALPHA_RANK_MEAN
    assert data.selection is not None and [p.slot for p in data.selection.picks] == ["MIN", "DEFAULT", "MAX"]
    (judges,) = data.judges
    assert (judges.run_id, judges.dataset_hash) == (RUN_B, DATASET_HASH)
    assert data.notes == []


def test_every_calibration_file_is_optional(tmp_path: Path) -> None:
    data = collect(build_runs(tmp_path / "runs", calibration=False))
    assert data.rankings is None and data.selection is None and data.judges == []
    assert data.history.weights is None and data.history.surprises == []
    assert data.overview.calls > 0 and data.notes == []


def test_a_corrupt_file_is_a_note_and_a_broken_run_is_left_out(runs: Path) -> None:
    (runs / "rankings.json").write_text("{not json")
    bad = runs / "2026-01-12" / "broken-run"
    bad.mkdir(parents=True)
    (bad / "manifest.json").write_text("[1, 2")
    data = collect(runs)
    assert data.rankings is None
    assert any("rankings.json" in n and "Rankings" in n for n in data.notes)
    assert "broken-run" in data.overview.unreadable and data.overview.runs == 3


def test_missing_runs_dir_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        collect(tmp_path / "nope")
    assert "nope" in str(info.value)


def test_mean_score_is_the_rankings_rule() -> None:
    """The dashboard's score is calibration's: rubric over adherence, ok answers only (a failed
    call is no answer), a manual score first."""
    records = [rec("r", "baseline", "i1", ALPHA, adherence=0.25),
               rec("r", "baseline", "i2", ALPHA, adherence=1.0, rubric={"total": 70.0}),
               rec("r", "baseline", "i3", ALPHA, status="error"),
               rec("r", "streaming-ttft", "i4", BETA, status="error"),
               rec("r", "tool-use", "i5", BETA, tool_passed=True)]
    assert mean_scores(records, {}) == {ALPHA: pytest.approx((25 + 70) / 2), BETA: 100.0}
    manual = {"r": {records[0].key: 90.0}}
    assert mean_scores(records, manual)[ALPHA] == pytest.approx((90 + 70) / 2)


def test_manual_scores_reach_the_history(runs: Path) -> None:
    before = collect(runs).history.runs[2]
    assert before.run_id == RUN_B and before.mean_score[BETA] == 50.0
    run_dir = next(p for p in runs.rglob(RUN_B) if p.is_dir())
    records = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines() if line]
    beta = next(r for r in records if r["model"] == BETA)
    key = (beta["phase"], beta["item_id"], beta["model"], beta.get("variant") or "", beta.get("repeat") or 0)
    for criterion, points in RUBRIC_DEFAULT.items():
        append_manual_score(run_dir, ManualScoreLine(key=key, criterion=criterion, points=points,
                                                     max_points=points, scored_at="t"))
    after = collect(runs).history.runs[2]
    assert after.mean_score[BETA] > 50.0


def test_scatter_is_sampled_evenly_and_deterministically() -> None:
    from dashboard.collect_perf import SCATTER_POINTS_PER_MODEL, latency

    records = [rec("r", "baseline", f"i{k}", ALPHA, ttft=float(k), e2e=float(2 * k)) for k in range(1000)]
    points = latency(records).scatter[ALPHA]
    assert len(points) == SCATTER_POINTS_PER_MODEL
    assert points[0] == (0.0, 0.0) and points[-1][0] > 990  # spans the whole range, not the first 300
    assert points == latency(records).scatter[ALPHA]
