"""How a record becomes a 0-100 quality score, with its source stated.

Why a priority of sources: a human's manual rubric beats the automatic rubric, which beats
an LLM judge, which beats a machine-checked format constraint, which beats a bare tool-call
verdict; a record is scored once, by the best evidence it has. Why a failed call scores 0
(in the phases that score answers): a model that errors gave no answer, and leaving errors
out would rank a flaky model above a reliable one. Skipped calls (no access) say nothing
about the model and are left out, as are records with no score at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from harness.records import CallRecord, RecordKey

# the model lab's own phases: their records rate *other* answers (or none), not the model
UNSCORED_PHASES = frozenset({"generation", "judge-production", "judge-bench"})
SCORE_SOURCE_TEXT = ("manual rubric > automatic rubric > LLM judge > constraint adherence x 100 "
                     "> tool call 100/0; failed calls 0, skipped calls left out")


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
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def record_score(record: CallRecord, manual: Mapping[RecordKey, float]) -> tuple[float, str] | None:
    """(score, source) for an answer record, or None when it carries no score."""
    if record.status == "skipped" or record.phase in UNSCORED_PHASES:
        return None
    if record.status == "error":
        return 0.0, "error"
    if record.key in manual:
        return manual[record.key], "manual"
    rubric = record.extra.get("rubric")
    if isinstance(rubric, dict) and (total := _number(rubric.get("total"))) is not None:
        return total, "rubric"
    if (judged := _number(record.extra.get("judge_score"))) is not None:
        return judged, "judge"
    if (adherence := _number(record.extra.get("adherence"))) is not None:
        return 100.0 * adherence, "adherence"
    passed = record.extra.get("tool_passed")
    if isinstance(passed, bool):
        return (100.0 if passed else 0.0), "tool"
    return None


def judged_answers(records: Iterable[CallRecord]) -> list[ScoredRecord]:
    """`judge-bench` verdicts credited to the model that wrote the judged answer (one
    judge call = one score of that answer; unparseable verdicts are not scores)."""
    out: list[ScoredRecord] = []
    for r in records:
        if r.phase != "judge-bench" or r.status != "ok" or r.extra.get("judge_parsed") is not True:
            continue
        score, target = _number(r.extra.get("judge_score")), r.extra.get("target_model")
        if score is not None and isinstance(target, str):
            out.append(ScoredRecord(run_id=r.run_id, phase=r.phase, item_id=str(r.extra.get("target_item", r.item_id)),
                                    model=target, category=r.category, score=score, source="judge"))
    return out


def score_records(records: Iterable[CallRecord], manual: Mapping[RecordKey, float]) -> list[ScoredRecord]:
    materialised = list(records)
    out = judged_answers(materialised)
    for r in materialised:
        scored = record_score(r, manual)
        if scored is not None:
            out.append(ScoredRecord(run_id=r.run_id, phase=r.phase, item_id=r.item_id, model=r.model,
                                    category=r.category, score=scored[0], source=scored[1]))
    return out
