"""A synthetic runs directory for the dashboard tests, with numbers known by construction.

Layout (built through the real archive store, so the dashboard reads what runs write):
- RUN_A (2026-01-10): baseline, long-context, tool-use, streaming-ttft for ALPHA, BETA and a
  model with a hostile name; two of ALPHA's baseline calls fail (rate_limited).
- RUN_C (2026-01-11): a retry of RUN_A that turns ALPHA's `i8` into a success.
- RUN_B (2026-01-11): a small baseline run, plus `judge_comparison.json`.
- calibration files at the root: rankings, routing weights (two versions), surprises, selection.

Expected numbers (asserted by the tests):
- ALPHA over the archive (lineage winners): 25 calls, 24 ok, 1 error -> success 96.0%.
- ALPHA tool use: baseline 1/2 (50.0%), few-shot 2/2 (100.0%) -> tier 1 via few-shot.
- BETA long-context: 32k is a context_overflow error.
- BETA streaming-ttft: TTFT 900 of E2E 1000 -> "slow to start"; ALPHA "fast".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from archive.store import RunStore
from calibration.schema import (
    BenchJudgeRow,
    JudgeComparison,
    ModelRun,
    Pick,
    ProductionJudgeRow,
    Rankings,
    RankRow,
    RoutingWeights,
    Selection,
    Surprise,
    WeightChange,
    WeightsVersion,
)
from harness.records import CallRecord

ALPHA = "sim/alpha"
BETA = "sim/beta"
HOSTILE = "evil/<script>window.__pwned=1</script><img src=x onerror=alert(1)>"
RUN_A = "20260110T100000000Z-aaaaaa"
RUN_C = "20260111T090000000Z-cccccc"
RUN_B = "20260111T100000000Z-bbbbbb"
DATASET_HASH = "d41d8cd98f00b204e9800998ecf8427e"
ALPHA_RANK_MEAN = 91.3
BETA_RANK_MEAN = 78.4
JUDGE = "judge/consistent-one"
PROD_JUDGE = "judge/prod-<b>bold</b>"


def rec(run_id: str, phase: str, item: str, model: str, *, status: str = "ok", variant: str = "",
        ttft: float | None = 100.0, e2e: float | None = 500.0, itl: float | None = None,
        error_class: str | None = None, category: str = "general", tokens: int = 5, **extra: Any) -> CallRecord:
    ok = status == "ok"
    return CallRecord(run_id=run_id, phase=phase, item_id=item, model=model, variant=variant, category=category,
                      status=status, error_class=error_class,  # type: ignore[arg-type]
                      ttft_ms=ttft if ok else None, e2e_ms=e2e if ok else None, itl_p50_ms=itl,
                      input_tokens=10, output_tokens=tokens, cost_usd=0.001, output="SECRET-OUTPUT-TEXT",
                      error_message=None if ok else "SECRET-ERROR-MESSAGE", extra=dict(extra))


def _manifest(run_id: str, created_at: str, parent: str | None = None) -> dict[str, Any]:
    return {"run_id": run_id, "created_at": created_at, "status": "completed", "parent_run": parent,
            "phases": [], "models": [ALPHA, BETA], "config": {"tool_use": {"tier1_min": 0.8, "tier2_min": 0.3}}}


def _run_a() -> list[CallRecord]:
    out: list[CallRecord] = []
    for k in range(10):
        if k < 8:
            out.append(rec(RUN_A, "baseline", f"i{k}", ALPHA, ttft=100.0 + 10 * k, e2e=500.0 + 50 * k,
                           category="coding" if k % 2 else "json", adherence=1.0 if k < 6 else 0.5))
        else:
            out.append(rec(RUN_A, "baseline", f"i{k}", ALPHA, status="error", error_class="rate_limited"))
        out.append(rec(RUN_A, "baseline", f"i{k}", BETA, ttft=300.0 + 10 * k, e2e=900.0 + 50 * k, adherence=0.8))
    out += [rec(RUN_A, "baseline", f"i{k}", HOSTILE, adherence=1.0) for k in range(2)]
    for label, tokens, adh in (("2k", 2048, 1.0), ("8k", 8192, 1.0), ("32k", 32768, 0.0)):
        out.append(rec(RUN_A, "long-context", "lc0", ALPHA, variant=label, ttft=tokens / 10, e2e=tokens / 5,
                       context_tokens=tokens, adherence=adh))
        if label == "32k":
            out.append(rec(RUN_A, "long-context", "lc0", BETA, variant=label, status="error",
                           error_class="context_overflow"))
        else:
            out.append(rec(RUN_A, "long-context", "lc0", BETA, variant=label, ttft=tokens / 8, e2e=tokens / 4,
                           context_tokens=tokens, adherence=0.5))
    tool = [(ALPHA, "baseline", "t0", True, None), (ALPHA, "baseline", "t1", False, "wrong_value"),
            (ALPHA, "few-shot", "t0", True, None), (ALPHA, "few-shot", "t1", True, None),
            (BETA, "baseline", "t0", False, "hallucinated_tool"), (BETA, "baseline", "t1", False, "refusal")]
    for model, variant, item, passed, failure in tool:
        out.append(rec(RUN_A, "tool-use", item, model, variant=variant, tool_mode="prompt", tool_passed=passed,
                       tool_failure=failure, tool_detail="d"))
    for k in range(4):
        out.append(rec(RUN_A, "streaming-ttft", f"s{k}", ALPHA, ttft=50.0 + k, e2e=1000.0 + k, itl=10.0,
                       tokens=96, adherence=1.0))  # TPOT (1000 - 50) / 95 = 10 ms
        out.append(rec(RUN_A, "streaming-ttft", f"s{k}", BETA, ttft=900.0 + k, e2e=1000.0 + k, itl=5.0,
                       adherence=1.0))
    return out


def _calibration(root: Path) -> None:
    rankings = Rankings(
        generated_at="2026-01-11T12:00:00.000Z", score_source="adherence x 100",
        overall=[RankRow(model=ALPHA, rank=1, mean=ALPHA_RANK_MEAN, ci_low=85.2, ci_high=96.0, n=25,
                         tied_with=[BETA]),
                 RankRow(model=BETA, rank=1, mean=BETA_RANK_MEAN, ci_low=70.0, ci_high=86.1, n=24,
                         tied_with=[ALPHA]),
                 RankRow(model=HOSTILE, rank=3, mean=40.0, ci_low=30.0, ci_high=50.0, n=2)],
        by_category={"coding": [RankRow(model=ALPHA, rank=1, mean=97.5, ci_low=95.0, ci_high=100.0, n=4)],
                     "json": [RankRow(model=BETA, rank=1, mean=88.8, ci_low=80.0, ci_high=95.0, n=4)]})
    weights = RoutingWeights(
        version=2, updated_at="2026-01-11T12:00:00.000Z", weights={ALPHA: {"coding": 0.912}, BETA: {"coding": 0.5}},
        seen_runs=[RUN_A, RUN_B],
        history=[WeightsVersion(version=1, updated_at="2026-01-10T12:00:00.000Z", runs=[RUN_A],
                                changes=[WeightChange(model=ALPHA, category="coding", old=None, new=0.9,
                                                      observed=0.9, applied=True)]),
                 WeightsVersion(version=2, updated_at="2026-01-11T12:00:00.000Z", runs=[RUN_B],
                                changes=[WeightChange(model=ALPHA, category="coding", old=0.9, new=0.912,
                                                      observed=1.0, applied=True),
                                         WeightChange(model=BETA, category="coding", old=0.5, new=0.501,
                                                      observed=0.51, applied=False)])])
    selection = Selection(generated_at="2026-01-11T12:00:00.000Z", benchmarks_file="benchmarks.yaml",
                          weights={"score": 1.0}, caps={"max": 10.0},
                          picks=[Pick(slot="MIN", model=BETA, reason="cheapest eligible"),
                                 Pick(slot="DEFAULT", model=ALPHA, reason="best value"),
                                 Pick(slot="MAX", model=None, reason="no model under the cap")])
    surprise = Surprise(date="2026-01-11", category="json", expected_leader=ALPHA, actual_leader=BETA,
                        expected_score=70.0, actual_score=88.8, runs=[RUN_B])
    (root / "rankings.json").write_bytes(msgspec.json.encode(rankings))
    (root / "routing_weights.json").write_bytes(msgspec.json.encode(weights))
    (root / "selection.json").write_bytes(msgspec.json.encode(selection))
    (root / "surprises.jsonl").write_bytes(msgspec.json.encode(surprise) + b"\n" + b'{"date": "torn')


def judge_comparison() -> JudgeComparison:
    return JudgeComparison(
        run_id=RUN_B, dataset="suites/judge_dataset.yaml", dataset_hash=DATASET_HASH,
        flags={"judge_eval_mode": "reasoned", "consistency_runs": 3},
        bench_judges=[BenchJudgeRow(judge=JUDGE, n_items=12, consistency=0.75, error_rate=0.125,
                                    mean_latency_ms=432.1)],
        production_judges=[ProductionJudgeRow(judge=PROD_JUDGE, n=20, errors=2, accuracy=0.8, precision=0.75,
                                              recall=0.9, f1=0.818, avg_latency_ms=210.0, tp=9, fp=3, tn=5, fn=1)],
        model_runs=[ModelRun(generation_model=ALPHA, judge_model=JUDGE, production_judge_model=PROD_JUDGE,
                             judge_eval_mode="reasoned", metrics={"consistency": 0.75, "f1": 0.818})])


def build_runs(root: Path, *, calibration: bool = True) -> Path:
    """The runs directory described in the module docstring; returns `root`."""
    store = RunStore(root)
    run_a = store.create(RUN_A, _manifest(RUN_A, "2026-01-10T10:00:00.000Z"))
    run_a.append_records(_run_a())
    run_c = store.create(RUN_C, _manifest(RUN_C, "2026-01-11T09:00:00.000Z", parent=RUN_A))
    run_c.append_records([rec(RUN_C, "baseline", "i8", ALPHA, adherence=1.0, category="json")])
    run_b = store.create(RUN_B, _manifest(RUN_B, "2026-01-11T10:00:00.000Z"))
    run_b.append_records([rec(RUN_B, "baseline", f"j{k}", model, adherence=adh)
                          for k in range(4) for model, adh in ((ALPHA, 1.0), (BETA, 0.5))])
    if calibration:
        (run_b.path / "judge_comparison.json").write_bytes(msgspec.json.encode(judge_comparison()))
        _calibration(root)
    return root
