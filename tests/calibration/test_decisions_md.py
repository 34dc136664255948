"""The decision sections of AGGREGATE_SUMMARY.md render what the calibration files say."""

from __future__ import annotations

from pathlib import Path

import msgspec

from calibration.decisions_md import decision_sections
from calibration.schema import (
    JUDGE_COMPARISON_JSON,
    RANKINGS_JSON,
    ROUTING_WEIGHTS_JSON,
    SELECTION_JSON,
    SURPRISES_JSONL,
    BenchJudgeRow,
    FailureRow,
    JudgeComparison,
    Pick,
    ProductionJudgeRow,
    Rankings,
    RankRow,
    RoutingWeights,
    Selection,
    Sizing,
    Surprise,
    SuspectItem,
    WeightChange,
    WeightsVersion,
)


def _write(path: Path, value: object) -> None:
    path.write_bytes(msgspec.json.encode(value))


def test_missing_files_say_which_command_makes_them(tmp_path: Path) -> None:
    text = "\n".join(decision_sections(tmp_path, []))
    assert "run `fleetbench calibrate`" in text and "run `fleetbench select`" in text
    assert "Surprising results" not in text and "Judge comparison" not in text


def test_every_section_shows_the_files_numbers(tmp_path: Path) -> None:
    _write(tmp_path / RANKINGS_JSON, Rankings(
        generated_at="2026-11-22T10:00:00Z", score_source="rubric > adherence", method="paired net wins",
        overall=[RankRow(model="sim/a", rank=1, mean=91.25, ci_low=88.0, ci_high=94.5, n=12, answers=36,
                         outranks=["sim/c"]),
                 RankRow(model="sim/b|x", rank=1, mean=90.0, ci_low=85.0, ci_high=93.0, n=12, tied_with=["sim/a"]),
                 RankRow(model="sim/c", rank=2, mean=20.0, ci_low=5.0, ci_high=40.0, n=12)],
        overall_sizing=Sizing(pairs=3, shared_items=12, effective_items=12.0, detectable=0.74),
        by_category={"routing": [RankRow(model="sim/a", rank=1, mean=100.0, ci_low=60.0, ci_high=100.0, n=2)]},
        category_sizing={"routing": Sizing(pairs=1, shared_items=2, effective_items=2.0, detectable=None)},
        by_source={"tool": [RankRow(model="sim/a", rank=1, mean=75.0, ci_low=30.0, ci_high=95.0, n=4)]},
        failures=[FailureRow(model="sim/a", calls=10, ok=7, provider_errors=2, our_errors=1, items=9, rate=0.2,
                             ci_low=0.05, ci_high=0.5, provider_classes={"rate_limited": 2},
                             our_classes={"subagent_lost": 1}),
                  FailureRow(model="openai/gpt-5-codex", calls=12, skipped=12)],
        suspect_items=[SuspectItem(phases=["baseline", "long-context"], item_id="broken", category="simple",
                                   source="tool", verdict="suspect gold", models=3)]))
    _write(tmp_path / ROUTING_WEIGHTS_JSON, RoutingWeights(
        version=3, updated_at="2026-11-22", weights={"sim/a": {"routing": 0.54, "code": 0.9}},
        history=[WeightsVersion(version=3, updated_at="2026-11-22", runs=["r1"], changes=[
            WeightChange(model="sim/a", category="routing", old=0.5, new=0.54, observed=0.9, applied=False)])]))
    (tmp_path / SURPRISES_JSONL).write_bytes(msgspec.json.encode(Surprise(
        date="2026-11-22", category="code", expected_leader="sim/a", actual_leader="sim/b",
        expected_score=80.0, actual_score=92.0)) + b"\n{torn")
    _write(tmp_path / SELECTION_JSON, Selection(
        generated_at="now", benchmarks_file="suites/public_benchmarks.yaml", weights={}, caps={},
        picks=[Pick(slot="DEFAULT", model="openai/gpt-4o-mini", reason="best value 180.2 under $0.50/M")]))
    run_dir = tmp_path / "2026-11-22" / "r9"
    run_dir.mkdir(parents=True)
    _write(run_dir / JUDGE_COMPARISON_JSON, JudgeComparison(
        run_id="r9", dataset="judge_dataset.yaml", dataset_hash="abcdef0123456789", flags={"mode": "direct"},
        bench_judges=[BenchJudgeRow(judge="sim/garbage", n_items=4, consistency=None, error_rate=1.0,
                                    mean_latency_ms=None)],
        production_judges=[ProductionJudgeRow(judge="sim/good", n=10, errors=0, accuracy=0.8, precision=0.75,
                                              recall=1.0, f1=0.857, avg_latency_ms=12.5)]))
    text = "\n\n".join(decision_sections(tmp_path, [run_dir]))
    assert "| 1 | sim/a | 91.2 | [88.0, 94.5] | 12 | 36 | sim/c | – |" in text
    assert "| 1 | sim/b\\|x | 90.0 | [85.0, 93.0] | 12 | 0 | – | sim/a |" in text  # ties shown, pipe escaped
    assert "### Overall (equal weight for each of 1 category)" in text and "Method: paired net wins." in text
    assert "Detectable: a net win rate of 0.74 or more" in text and "12 shared items, 12 effective" in text
    assert "### routing" in text and "Detectable: no difference at all (median pair: 2 shared items" in text
    assert "### Source: tool" in text and "No two models share an item here" in text
    assert "| sim/a | 10 | 7 | 2 | 20.0% | [5.0, 50.0] | 9 | 1 | 0 | rate_limited: 2 | subagent_lost: 1 |" in text
    assert "| broken | simple | tool | baseline, long-context | suspect gold | 3 |" in text
    assert "Every call skipped (no access): openai/gpt-5-codex." in text and "| openai/gpt-5-codex |" not in text
    assert "Version 3" in text and "| sim/a | 0.900 | 0.540 |" in text and "0 of 1 changes applied" in text
    assert "0.1 of the way to the observed score when that differs from it by more than 10%" in text
    assert "| 2026-11-22 | code | sim/a | sim/b | 92.0 vs 80.0 |" in text
    assert "| DEFAULT | openai/gpt-4o-mini | best value 180.2 under $0.50/M |" in text
    assert "hash abcdef012345" in text and "| sim/garbage | 4 | – | 100.0% | – |" in text
    assert "| sim/good | 10 | 0 | 80.0% | 75.0% | 100.0% | 85.7% | 12.5 |" in text
