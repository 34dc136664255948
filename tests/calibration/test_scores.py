"""A record's 0-100 score and its source: priority, failures, skips, judges, fallbacks."""

from __future__ import annotations

import pytest

from calibration.scores import record_score, score_records
from harness.records import CallRecord


def answer(*, status: str = "ok", phase: str = "baseline", item: str = "i", model: str = "m",
           run: str = "r", **extra: object) -> CallRecord:
    return CallRecord(run_id=run, phase=phase, item_id=item, model=model, category="code",
                      status=status, extra=dict(extra))  # type: ignore[arg-type]


def verdict(score: float | None, *, judge: str, repeat: int, target: str = "gen", item: str = "q1",
            parsed: bool = True, status: str = "ok") -> CallRecord:
    return CallRecord(run_id="jb", phase="judge-bench", item_id=item, model=judge, variant=target, repeat=repeat,
                      category="qa", status=status,  # type: ignore[arg-type]
                      extra={"judge_parsed": parsed, "judge_score": score, "target_model": target,
                             "target_item": item, "target_repeat": 0, "source_run": "g1"})


def test_best_source_wins_in_the_stated_order() -> None:
    every = answer(adherence=0.25, tool_passed=True, judge_score=40, rubric={"total": 55.0})
    assert record_score(every, {every.key: 90.0}) == (90.0, "manual")
    assert record_score(every, {}) == (55.0, "rubric")
    assert record_score(answer(adherence=0.25, tool_passed=True, judge_score=40), {}) == (40.0, "judge")
    assert record_score(answer(adherence=0.25, tool_passed=True), {}) == (25.0, "adherence")
    assert record_score(answer(tool_passed=True), {}) == (100.0, "tool")
    assert record_score(answer(tool_passed=False), {}) == (0.0, "tool")


def test_failures_skips_and_unscored_records() -> None:
    assert record_score(answer(status="error", adherence=1.0), {}) is None  # no answer: no quality
    assert record_score(answer(status="skipped", adherence=1.0), {}) is None
    assert record_score(answer(), {}) is None  # nothing to score by
    assert record_score(answer(phase="generation", adherence=1.0), {}) is None  # the model lab rates these
    # a manual score for another record does not leak onto this one
    other = answer(item="other")
    assert record_score(answer(adherence=0.5), {other.key: 100.0}) == (50.0, "adherence")


def test_bad_numbers_are_not_scores_and_scores_stay_on_the_scale() -> None:
    assert record_score(answer(adherence=float("nan")), {}) is None
    assert record_score(answer(judge_score=float("inf"), adherence=0.5), {}) == (50.0, "adherence")
    assert record_score(answer(adherence=True), {}) is None  # a bool is not a fraction
    assert record_score(answer(rubric={"total": 104.0}), {}) == (100.0, "rubric")
    assert record_score(answer(adherence=-0.2), {}) == (0.0, "adherence")
    assert record_score(answer(rubric={"total": "high"}, adherence=0.75), {}) == (75.0, "adherence")


def test_quality_is_over_ok_answers_only() -> None:
    """The measured defect: failed calls (ours included) were scored 0 as the model's."""
    records = [answer(item="a", adherence=0.8), answer(item="b", status="error"),
               CallRecord(run_id="r", phase="baseline", item_id="c", model="m", category="code", status="error",
                          error_class="subagent_lost"),
               answer(phase="streaming-ttft", item="s1"), answer(phase="streaming-ttft", item="s2", status="error"),
               answer(item="d", status="skipped")]
    scored = score_records(records, {})
    assert [(s.phase, s.item_id, s.score, s.source) for s in scored] == [
        ("baseline", "a", pytest.approx(80.0), "adherence")]


def test_manual_totals_apply_per_run() -> None:
    mine, theirs = answer(run="r1", adherence=0.1), answer(run="r2", adherence=0.1)
    scored = score_records([mine, theirs], {"r1": {mine.key: 70.0}})
    assert sorted((s.run_id, s.score, s.source) for s in scored) == [
        ("r1", 70.0, "manual"), ("r2", pytest.approx(10.0), "adherence")]


def test_the_fallback_that_answered_gets_the_credit() -> None:
    fell_back = answer(adherence=0.9)
    fell_back.answered_by = "cheap/backup"
    plain = answer(item="j", adherence=0.4)
    plain.answered_by = "m"
    assert sorted((s.item_id, s.model) for s in score_records([fell_back, plain], {})) == [
        ("i", "cheap/backup"), ("j", "m")]


def test_judge_verdicts_on_one_answer_are_one_score() -> None:
    records = [verdict(80.0, judge="j1", repeat=0), verdict(60.0, judge="j1", repeat=1),
               verdict(100.0, judge="j2", repeat=0),
               verdict(None, judge="j2", repeat=1, parsed=False),  # unparseable: not a verdict
               verdict(0.0, judge="j3", repeat=0, status="error"),  # the judge failed, not the answer
               verdict(30.0, judge="j1", repeat=0, item="q2")]
    scored = sorted(score_records(records, {}), key=lambda s: s.item_id)
    assert [(s.model, s.item_id, s.category, s.source, s.run_id) for s in scored] == [
        ("gen", "q1", "qa", "judge", "jb"), ("gen", "q2", "qa", "judge", "jb")]
    assert scored[0].score == pytest.approx(80.0) and scored[1].score == pytest.approx(30.0)
