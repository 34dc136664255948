"""How a record becomes a 0-100 quality score, with its source stated.

Why a priority of sources: a human's manual rubric beats the automatic rubric, which beats
an LLM judge, which beats a machine-checked format constraint, which beats a bare tool-call
verdict; a record is scored once, by the best evidence it has.

Why a failed call scores 0, but only in phases that score answers: a model that errors gave
no answer, and leaving errors out would rank a flaky model above a reliable one. A phase
that never scores its answers (streaming TTFT measures latency) must not turn its errors
into zeros, or a model would get a quality mean built from its failures alone; a phase
"scores answers" when any ok record of it carries a score. Skipped calls (no access) say
nothing about the model and are left out, as are records with no score at all.

Why one score per judged answer: `judge-bench` asks several judges, several times each, to
rate one generation output. Those verdicts are not independent samples of the model's
quality, and counting each as one would shrink the bootstrap interval by sqrt(judges x
repeats) for nothing; their mean is the answer's score.

Why the answering model gets the credit: after a quota fallback the record's `model` is the
one asked, `answered_by` the one that wrote the answer being scored.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from harness.records import CallRecord, RecordKey

# the model lab's own phases: their records rate *other* answers (or none), not the model
UNSCORED_PHASES = frozenset({"generation", "judge-production", "judge-bench"})
JUDGE_BENCH_PHASE = "judge-bench"
SCORE_SOURCE_TEXT = ("manual rubric > automatic rubric > LLM judge (mean of the verdicts on one answer) "
                     "> constraint adherence x 100 > tool call 100/0; failed calls 0 in phases that score "
                     "answers, skipped calls left out")

ManualTotals = Mapping[str, Mapping[RecordKey, float]]  # run id -> record key -> 0-100 manual total


@dataclass(frozen=True, slots=True)
class ScoredRecord:
    run_id: str
    phase: str
    item_id: str
    model: str
    category: str
    score: float  # 0-100
    source: str  # manual | rubric | judge | adherence | tool | error


def _number(value: object) -> float | None:
    """A finite number, else None: a NaN would poison every mean and interval it touches."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _clamp(score: float) -> float:
    """Scores are 0-100 by contract; a scorer's rounding slip must not leave the scale."""
    return min(max(score, 0.0), 100.0)


def record_score(record: CallRecord, manual: Mapping[RecordKey, float]) -> tuple[float, str] | None:
    """(score, source) for an answer record, or None when it carries no score.

    `manual` holds the record's run's complete manual totals. An error scores 0 here; the
    caller decides whether its phase scores answers at all (see `score_records`)."""
    if record.status == "skipped" or record.phase in UNSCORED_PHASES:
        return None
    if record.status == "error":
        return 0.0, "error"
    if manual and (total := _number(manual.get(record.key))) is not None:
        return _clamp(total), "manual"
    rubric = record.extra.get("rubric")
    if isinstance(rubric, dict) and (total := _number(rubric.get("total"))) is not None:
        return _clamp(total), "rubric"
    if (judged := _number(record.extra.get("judge_score"))) is not None:
        return _clamp(judged), "judge"
    if (adherence := _number(record.extra.get("adherence"))) is not None:
        return _clamp(100.0 * adherence), "adherence"
    passed = record.extra.get("tool_passed")
    if isinstance(passed, bool):
        return (100.0 if passed else 0.0), "tool"
    return None


def credited_model(record: CallRecord) -> str:
    """The model whose answer is scored: the fallback that answered, else the one asked."""
    return record.answered_by if record.answered_by else record.model


def judged_answers(records: Iterable[CallRecord]) -> list[ScoredRecord]:
    """`judge-bench` verdicts credited to the model that wrote the judged answer: the mean
    of every parsed verdict on one answer (source run, model, item, repeat) is one score.
    Failed or unparseable judge calls are the judge's failure, not the answer's."""
    verdicts: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    meta: dict[tuple[str, str, str, str], tuple[str, str]] = {}
    for r in records:
        if r.phase != JUDGE_BENCH_PHASE or r.status != "ok" or r.extra.get("judge_parsed") is not True:
            continue
        score, target = _number(r.extra.get("judge_score")), r.extra.get("target_model")
        if score is None or not isinstance(target, str) or not target:
            continue
        item = str(r.extra.get("target_item") or r.item_id)
        answer = (str(r.extra.get("source_run") or ""), target, item, str(r.extra.get("target_repeat") or 0))
        verdicts[answer].append(_clamp(score))
        meta.setdefault(answer, (r.run_id, r.category))
    out: list[ScoredRecord] = []
    for answer, values in sorted(verdicts.items()):
        run_id, category = meta[answer]
        out.append(ScoredRecord(run_id=run_id, phase=JUDGE_BENCH_PHASE, item_id=answer[2], model=answer[1],
                                category=category, score=sum(values) / len(values), source="judge"))
    return out


def score_records(records: Iterable[CallRecord], manual: ManualTotals) -> list[ScoredRecord]:
    """Every scorable record as a ScoredRecord (errors only in phases that score answers).

    Pass the winners of the whole archive at once: which phases score answers is decided
    over all of them, so a run whose calls all failed still counts its failures."""
    materialised = list(records)
    none: Mapping[RecordKey, float] = {}
    scored: list[tuple[CallRecord, float, str]] = []
    for r in materialised:
        result = record_score(r, manual.get(r.run_id, none))
        if result is not None:
            scored.append((r, *result))
    scoring_phases = {r.phase for r, _, source in scored if source != "error"}
    out = judged_answers(materialised)
    for r, score, source in scored:
        if source == "error" and r.phase not in scoring_phases:
            continue
        out.append(ScoredRecord(run_id=r.run_id, phase=r.phase, item_id=r.item_id, model=credited_model(r),
                                category=r.category, score=score, source=source))
    return out
