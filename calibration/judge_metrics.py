"""Judge metrics from records: benchmark judges (consistency, error rate, latency) and
production judges against labels (accuracy, precision, recall, F1, mean latency).

Choices, stated once (the summary and `judge_comparison.json` follow them):
- Positive class = label "bad". A production judge exists to catch bad answers, so
  precision is "of the answers it flagged, how many were bad" and recall is "of the bad
  answers, how many it flagged".
- Every judge call is one prediction: with consistency_runs = 3 an item counts three times.
- A call that failed (status error) or whose reply did not parse is an ERROR: counted in
  `errors` and `error_rate`, excluded from the confusion matrix, never a pass and never a
  verdict. `accuracy` is over parsed calls; `accuracy_counting_errors` (errors as wrong
  answers) is reported beside it in `model_runs`, so a judge cannot look good by failing.
- A metric whose denominator is zero is None, not 0: precision with nothing flagged, recall
  with no bad item. F1 = 2TP / (2TP + FP + FN) (the harmonic mean of precision and recall
  where both exist), None only when there is no positive label and no positive prediction.
- Benchmark consistency = share of judged items (a generation model's answer to one item)
  whose parsed repeated verdicts all agree AND whose scores span at most 1 point (8 and 9
  agree; 7 and 9 do not). Only items with at least two parsed runs can be judged; with
  consistency_runs = 1, consistency is None. Unparseable runs are the error rate's
  business, so they neither make nor break consistency.
- Latency = mean E2E ms over calls that returned (status ok, parsed or not): the time the
  provider took, which an unparseable reply costs too.
- Skipped calls (no API access) are in no denominator; a model whose calls were all
  skipped is left out of the comparison, with a note.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from calibration.judge_dataset import Label
from calibration.schema import BenchJudgeRow, JudgeComparison, ModelRun, ProductionJudgeRow
from harness.records import CallRecord

POSITIVE: Label = "bad"
BENCH_PHASE = "judge-bench"
PRODUCTION_PHASE = "judge-production"
GENERATION_PHASE = "generation"


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass(frozen=True, slots=True)
class Confusion:
    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    @property
    def accuracy(self) -> float | None:
        return _ratio(self.tp + self.tn, self.n)

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)


def confusion(pairs: Iterable[tuple[Label, Label]]) -> Confusion:
    """(expected label, predicted verdict) pairs -> counts, positive = "bad"."""
    tp = fp = tn = fn = 0
    for expected, predicted in pairs:
        if predicted == POSITIVE:
            tp, fp = (tp + 1, fp) if expected == POSITIVE else (tp, fp + 1)
        else:
            fn, tn = (fn + 1, tn) if expected == POSITIVE else (fn, tn + 1)
    return Confusion(tp=tp, fp=fp, tn=tn, fn=fn)


def _verdict(record: CallRecord) -> Label | None:
    """The parsed verdict of an ok call; None for failures and unparseable replies."""
    if record.status != "ok" or record.extra.get("judge_parsed") is not True:
        return None
    value = record.extra.get("judge_verdict")
    return value if value in ("good", "bad") else None


def _raw_score(record: CallRecord) -> int | None:
    value = record.extra.get("judge_raw_score")
    return value if isinstance(value, int) and _verdict(record) is not None else None


def _counted(records: Iterable[CallRecord]) -> list[CallRecord]:
    return [r for r in records if r.status != "skipped"]


def _latency(records: Iterable[CallRecord]) -> float | None:
    return _mean([r.e2e_ms for r in records if r.status == "ok" and r.e2e_ms is not None])


def error_count(records: Iterable[CallRecord]) -> int:
    """Failed calls plus replies that did not parse: the judge gave no usable verdict."""
    return sum(1 for r in _counted(records) if _verdict(r) is None)


def production_row(judge: str, records: Sequence[CallRecord]) -> ProductionJudgeRow:
    counted = _counted(records)
    pairs: list[tuple[Label, Label]] = []
    for record in counted:
        predicted, expected = _verdict(record), record.extra.get("expected")
        if predicted is not None and expected in ("good", "bad"):
            pairs.append((expected, predicted))
    matrix = confusion(pairs)
    return ProductionJudgeRow(judge=judge, n=len(counted), errors=error_count(counted), accuracy=matrix.accuracy,
                              precision=matrix.precision, recall=matrix.recall, f1=matrix.f1,
                              avg_latency_ms=_latency(counted), tp=matrix.tp, fp=matrix.fp, tn=matrix.tn,
                              fn=matrix.fn)


def consistency(records: Sequence[CallRecord]) -> float | None:
    """Share of (target, item) groups with >= 2 parsed runs that agree (see module doc)."""
    runs: dict[tuple[str, str], list[tuple[Label, int]]] = defaultdict(list)
    for record in records:
        verdict, score = _verdict(record), _raw_score(record)
        if verdict is not None and score is not None:
            runs[(record.variant, record.item_id)].append((verdict, score))
    judged = [group for group in runs.values() if len(group) >= 2]
    agreeing = [g for g in judged if len({v for v, _ in g}) == 1 and max(s for _, s in g) - min(s for _, s in g) <= 1]
    return _ratio(len(agreeing), len(judged))


def bench_row(judge: str, records: Sequence[CallRecord]) -> BenchJudgeRow:
    counted = _counted(records)
    return BenchJudgeRow(judge=judge, n_items=len({(r.variant, r.item_id) for r in counted}),
                         consistency=consistency(counted), error_rate=_ratio(error_count(counted), len(counted)),
                         mean_latency_ms=_latency(counted))


def target_scores(records: Sequence[CallRecord]) -> dict[tuple[str, str], dict[str, float | None]]:
    """(judge, generation model) -> mean 0-100 judge score and share of "good" verdicts,
    over parsed verdicts only. The generation model is `extra.target_model`."""
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    goods: dict[tuple[str, str], list[float]] = defaultdict(list)
    for record in records:
        target, score = record.extra.get("target_model"), record.extra.get("judge_score")
        verdict = _verdict(record)
        if isinstance(target, str) and verdict is not None and isinstance(score, (int, float)):
            scores[(record.model, target)].append(float(score))
            goods[(record.model, target)].append(1.0 if verdict == "good" else 0.0)
    return {key: {"mean_judge_score": _mean(values), "good_rate": _mean(goods[key])}
            for key, values in scores.items()}


def by_model(records: Iterable[CallRecord]) -> dict[str, list[CallRecord]]:
    out: dict[str, list[CallRecord]] = defaultdict(list)
    for record in records:
        out[record.model].append(record)
    return dict(sorted(out.items()))


def split_access(records: Iterable[CallRecord], role: str, notes: list[str]) -> dict[str, list[CallRecord]]:
    """Models with at least one call made; the rest (all skipped: no access) get a note."""
    kept: dict[str, list[CallRecord]] = {}
    for model, mine in by_model(records).items():
        if _counted(mine):
            kept[model] = mine
        else:
            reason = mine[0].error_message or mine[0].error_class or "skipped"
            notes.append(f"left out {role} {model}: {len(mine)} calls skipped ({reason})")
    return kept


def build_comparison(*, run_id: str, dataset: str, dataset_hash: str,
                     flags: dict[str, str | int | float | bool | None], generation: Sequence[CallRecord],
                     judged: Sequence[CallRecord]) -> tuple[JudgeComparison, list[str]]:
    """The sweep's `judge_comparison.json` (plus notes on what was left out and why):
    every (generation, judge, production judge) combination of models that had access."""
    notes: list[str] = []
    gen = split_access([r for r in generation if r.phase == GENERATION_PHASE], "generation model", notes)
    bench = split_access([r for r in judged if r.phase == BENCH_PHASE], "judge", notes)
    prod = split_access([r for r in judged if r.phase == PRODUCTION_PHASE], "production judge", notes)
    bench_rows = {m: bench_row(m, rs) for m, rs in bench.items()}
    prod_rows = {m: production_row(m, rs) for m, rs in prod.items()}
    scores = target_scores([r for rs in bench.values() for r in rs])
    runs: list[ModelRun] = []
    for g, g_records in gen.items():
        g_counted = _counted(g_records)
        for j, j_row in bench_rows.items():
            target = scores.get((j, g), {})
            for p, p_row in prod_rows.items():
                metrics: dict[str, float | None] = {
                    "generation_mean_judge_score": target.get("mean_judge_score"),
                    "generation_good_rate": target.get("good_rate"),
                    "generation_error_rate": _ratio(sum(r.status == "error" for r in g_counted), len(g_counted)),
                    "generation_mean_latency_ms": _latency(g_counted),
                    "judge_consistency": j_row.consistency, "judge_error_rate": j_row.error_rate,
                    "judge_mean_latency_ms": j_row.mean_latency_ms,
                    "production_accuracy": p_row.accuracy,
                    "production_accuracy_counting_errors": _ratio(p_row.tp + p_row.tn, p_row.n),
                    "production_precision": p_row.precision, "production_recall": p_row.recall,
                    "production_f1": p_row.f1, "production_avg_latency_ms": p_row.avg_latency_ms,
                    "production_error_rate": _ratio(p_row.errors, p_row.n),
                }
                runs.append(ModelRun(generation_model=g, judge_model=j, production_judge_model=p,
                                     judge_eval_mode=str(flags.get("judge_eval_mode", "")), metrics=metrics))
    comparison = JudgeComparison(run_id=run_id, dataset=dataset, dataset_hash=dataset_hash, flags=flags,
                                 bench_judges=list(bench_rows.values()), production_judges=list(prod_rows.values()),
                                 model_runs=runs)
    return comparison, notes


def incomparable_reasons(a: JudgeComparison, b: JudgeComparison) -> list[str]:
    """Why two comparisons must not be read side by side (same dataset, same
    flags); empty when they may. Each reason names the field and both values."""
    reasons: list[str] = []
    if a.dataset_hash != b.dataset_hash:
        reasons.append(f"dataset hash differs: {a.dataset_hash[:12]} ({a.dataset}) vs "
                       f"{b.dataset_hash[:12]} ({b.dataset})")
    for key in sorted(set(a.flags) | set(b.flags)):
        if a.flags.get(key) != b.flags.get(key):
            reasons.append(f"flag {key} differs: {a.flags.get(key)!r} vs {b.flags.get(key)!r}")
    return reasons
