"""How a record becomes a 0-100 quality score, with its source stated.

Why a priority of sources: a human's manual rubric beats the automatic rubric, which beats
an LLM judge, which beats a machine-checked format constraint, which beats a bare tool-call
verdict; a record is scored once, by the best evidence it has.

Why quality is computed over ok answers only: a failed call gave no answer to judge.
Whose failure it was decides where it is reported, never the quality mean: our own
failures (a lost subagent, a limiter or client bug, no key: `harness.errors.OUR_FAULTS`)
say nothing about the model at all; the provider's (rate limits exhausted, 5xx after
retries, a context overflow) are the model's availability, reported as failure rates with
their own intervals beside the quality ranking (`calibration.failures`). The tool-use phase
follows the same rule, so its accuracy and calibration's agree.

Why one score per judged answer: `judge-bench` asks several judges, several times each, to
rate one generation output. Those verdicts are not independent samples of the model's
quality; their mean is the answer's score.

Why the answering model gets the credit: after a quota fallback the record's `model` is the
one asked, `answered_by` the one that wrote the answer being scored.

Why a narrow view of a record (`RecordView`): calibration reads every record of a new run;
decoding only these fields skips outputs and attempt logs without building them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import msgspec

from harness.records import CallRecord, RecordKey, record_key

# the model lab's own phases: their records rate *other* answers (or none), not the model
UNSCORED_PHASES = frozenset({"generation", "judge-production", "judge-bench"})
JUDGE_BENCH_PHASE = "judge-bench"
# manual and automatic rubric totals measure the same 100-point rubric; manual is better evidence
SOURCE_GROUP = {"manual": "rubric", "rubric": "rubric", "judge": "judge", "adherence": "adherence", "tool": "tool"}
SOURCES = ("rubric", "judge", "adherence", "tool")
SCORE_SOURCE_TEXT = ("manual rubric > automatic rubric > LLM judge (mean of the verdicts on one answer) "
                     "> constraint adherence x 100 > tool call 100/0, over ok answers only; failed calls are "
                     "reported apart as failure rates (the provider's) or left out (ours), skipped calls left out")

ManualTotals = Mapping[str, Mapping[RecordKey, float]]  # run id -> record key -> 0-100 manual total


class ExtraView(msgspec.Struct, kw_only=True):
    """The fields of `CallRecord.extra` that scoring reads (any JSON value; checked on use)."""

    rubric: object = None
    judge_score: object = None
    adherence: object = None
    tool_passed: object = None
    judge_parsed: object = None
    target_model: object = None
    target_item: object = None
    target_repeat: object = None
    source_run: object = None


EXTRA_FIELDS = tuple(ExtraView.__struct_fields__)


class RecordView(msgspec.Struct, kw_only=True):
    """The fields of a `CallRecord` that calibration needs (same names, same types)."""

    run_id: str
    phase: str
    item_id: str
    model: str
    variant: str = ""
    repeat: int = 0
    category: str = "general"
    status: Literal["ok", "error", "skipped"]
    error_class: str | None = None
    answered_by: str | None = None
    extra: ExtraView = msgspec.field(default_factory=ExtraView)

    @property
    def key(self) -> RecordKey:
        return record_key(self.phase, self.item_id, self.model, self.variant, self.repeat)


def view_of(record: CallRecord) -> RecordView:
    return RecordView(run_id=record.run_id, phase=record.phase, item_id=record.item_id, model=record.model,
                      variant=record.variant, repeat=record.repeat, category=record.category, status=record.status,
                      error_class=record.error_class, answered_by=record.answered_by,
                      extra=ExtraView(**{k: record.extra.get(k) for k in EXTRA_FIELDS}))


@dataclass(frozen=True, slots=True)
class ScoredRecord:
    run_id: str
    phase: str
    item_id: str
    model: str
    category: str
    score: float  # 0-100
    source: str  # manual | rubric | judge | adherence | tool


def _number(value: object) -> float | None:
    """A finite number, else None: a NaN would poison every mean and interval it touches."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _clamp(score: float) -> float:
    """Scores are 0-100 by contract; a scorer's rounding slip must not leave the scale."""
    return min(max(score, 0.0), 100.0)


def view_score(record: RecordView, manual: Mapping[RecordKey, float]) -> tuple[float, str] | None:
    """(score, source) for an ok answer, or None (a failure, a skip, nothing to score by)."""
    if record.status != "ok" or record.phase in UNSCORED_PHASES:
        return None
    if manual and (total := _number(manual.get(record.key))) is not None:
        return _clamp(total), "manual"
    extra = record.extra
    if isinstance(extra.rubric, dict) and (total := _number(extra.rubric.get("total"))) is not None:
        return _clamp(total), "rubric"
    if (judged := _number(extra.judge_score)) is not None:
        return _clamp(judged), "judge"
    if (adherence := _number(extra.adherence)) is not None:
        return _clamp(100.0 * adherence), "adherence"
    if isinstance(extra.tool_passed, bool):
        return (100.0 if extra.tool_passed else 0.0), "tool"
    return None


def record_score(record: CallRecord, manual: Mapping[RecordKey, float]) -> tuple[float, str] | None:
    """`view_score` for a full record. `manual` holds the record's run's manual totals."""
    return view_score(view_of(record), manual)


def credited_model(record: RecordView | CallRecord) -> str:
    """The model whose answer is scored: the fallback that answered, else the one asked."""
    return record.answered_by if record.answered_by else record.model


AnswerKey = tuple[str, str, str, str]  # (source run, judged model, item, repeat)


def judge_verdict(record: RecordView) -> tuple[AnswerKey, float] | None:
    """A parsed `judge-bench` verdict and the answer it rates; None for anything else
    (failed or unparseable judge calls are the judge's failure, not the answer's)."""
    extra = record.extra
    if record.phase != JUDGE_BENCH_PHASE or record.status != "ok" or extra.judge_parsed is not True:
        return None
    score, target = _number(extra.judge_score), extra.target_model
    if score is None or not isinstance(target, str) or not target:
        return None
    item = str(extra.target_item or record.item_id)
    return (str(extra.source_run or ""), target, item, str(extra.target_repeat or 0)), _clamp(score)


def judged_answers(records: Iterable[RecordView]) -> list[ScoredRecord]:
    """`judge-bench` verdicts credited to the model that wrote the judged answer: the mean
    of every parsed verdict on one answer (source run, model, item, repeat) is one score."""
    verdicts: dict[AnswerKey, list[float]] = defaultdict(list)
    meta: dict[AnswerKey, tuple[str, str]] = {}
    for r in records:
        found = judge_verdict(r)
        if found is not None:
            verdicts[found[0]].append(found[1])
            meta.setdefault(found[0], (r.run_id, r.category))
    out: list[ScoredRecord] = []
    for answer, values in sorted(verdicts.items()):
        run_id, category = meta[answer]
        out.append(ScoredRecord(run_id=run_id, phase=JUDGE_BENCH_PHASE, item_id=answer[2], model=answer[1],
                                category=category, score=sum(values) / len(values), source="judge"))
    return out


def score_views(records: Iterable[RecordView], manual: ManualTotals) -> list[ScoredRecord]:
    """Every ok answer with a score, plus the judged answers; failures and skips left out."""
    materialised = list(records)
    none: Mapping[RecordKey, float] = {}
    out = judged_answers(materialised)
    for r in materialised:
        result = view_score(r, manual.get(r.run_id, none))
        if result is not None:
            out.append(ScoredRecord(run_id=r.run_id, phase=r.phase, item_id=r.item_id, model=credited_model(r),
                                    category=r.category, score=result[0], source=result[1]))
    return out


def score_records(records: Iterable[CallRecord], manual: ManualTotals) -> list[ScoredRecord]:
    """`score_views` over full records (the dashboard's per-run figures)."""
    return score_views((view_of(r) for r in records), manual)
