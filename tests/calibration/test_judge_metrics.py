"""Judge metrics against hand-computed confusion matrices; the labelled dataset's loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from calibration.judge_dataset import DEFAULT_DATASET, load_judge_dataset
from calibration.judge_metrics import (
    Confusion,
    bench_row,
    build_comparison,
    confusion,
    consistency,
    incomparable_reasons,
    production_row,
)
from calibration.schema import JudgeComparison
from harness.errors import InputError
from harness.records import CallRecord, Status


def rec(phase: str, model: str, item: str, *, status: Status = "ok", verdict: str | None = None,
        raw: int | None = None, expected: str | None = None, target: str = "", repeat: int = 0,
        e2e: float | None = 100.0, parsed: bool | None = None) -> CallRecord:
    """A record as the judge phases write it. `verdict=None` with status ok = unparseable."""
    extra: dict[str, object] = {}
    if status == "ok":
        ok = verdict is not None if parsed is None else parsed
        extra = {"judge_parsed": ok, "judge_verdict": verdict, "judge_raw_score": raw,
                 "judge_score": None if raw is None else (raw - 1) * 100 / 9,
                 "parse_error": None if ok else "no JSON object in the reply"}
    if expected is not None:
        extra["expected"] = expected
    if target:
        extra["target_model"] = target
    return CallRecord(run_id="r", phase=phase, item_id=item, model=model, variant=target, repeat=repeat,
                      status=status, e2e_ms=e2e if status == "ok" else None, extra=extra,
                      error_class="no_access" if status == "skipped" else "server_error" if status == "error" else None)


# expected, predicted: TP TP FN TN TN FP TN TP FP  -> TP=3 FP=2 TN=3 FN=1
PAIRS = [("bad", "bad"), ("bad", "bad"), ("bad", "good"), ("good", "good"), ("good", "good"),
         ("good", "bad"), ("good", "good"), ("bad", "bad"), ("good", "bad")]


def production_records(judge: str = "sim/prod") -> list[CallRecord]:
    records = [rec("judge-production", judge, f"i{n}", verdict=p, raw=2 if p == "bad" else 8, expected=e)
               for n, (e, p) in enumerate(PAIRS)]
    records.append(rec("judge-production", judge, "i9", verdict=None, expected="bad", e2e=400.0))  # garbage
    records.append(rec("judge-production", judge, "i10", status="error", expected="good"))  # failed call
    return records


def test_confusion_matrix_by_hand() -> None:
    m = confusion(PAIRS)  # type: ignore[arg-type]
    assert (m.tp, m.fp, m.tn, m.fn) == (3, 2, 3, 1)
    assert m.accuracy == pytest.approx(6 / 9)
    assert m.precision == pytest.approx(3 / 5)
    assert m.recall == pytest.approx(3 / 4)
    assert m.f1 == pytest.approx(2 * 0.6 * 0.75 / (0.6 + 0.75))


def test_undefined_metrics_are_none_not_zero() -> None:
    never_flags = Confusion(tp=0, fp=0, tn=4, fn=2)  # flags nothing: precision undefined
    assert never_flags.precision is None and never_flags.recall == 0.0 and never_flags.f1 == 0.0
    assert never_flags.accuracy == pytest.approx(4 / 6)
    no_bad = Confusion(tn=5)  # no bad labels, no bad predictions
    assert no_bad.precision is None and no_bad.recall is None and no_bad.f1 is None and no_bad.accuracy == 1.0
    assert Confusion().accuracy is None


def test_production_row_excludes_errors_from_the_matrix_but_counts_them() -> None:
    skipped = rec("judge-production", "sim/prod", "i11", status="skipped", expected="good")
    row = production_row("sim/prod", [*production_records(), skipped])
    assert (row.tp, row.fp, row.tn, row.fn) == (3, 2, 3, 1)
    assert row.n == 11 and row.errors == 2  # the skipped call is in no denominator
    assert row.accuracy == pytest.approx(6 / 9) and row.precision == pytest.approx(0.6)
    assert row.recall == pytest.approx(0.75) and row.f1 == pytest.approx(2 / 3)
    # latency over calls that returned: 9 parsed at 100 ms, the garbage reply at 400 ms
    assert row.avg_latency_ms == pytest.approx((9 * 100 + 400) / 10)


def test_a_judge_answering_garbage_is_all_errors_and_never_a_pass() -> None:
    records = [rec("judge-production", "sim/garbage", f"i{n}", verdict=None, expected=e) for n, (e, _) in
               enumerate(PAIRS)]
    row = production_row("sim/garbage", records)
    assert row.errors == row.n == 9
    assert (row.tp, row.fp, row.tn, row.fn) == (0, 0, 0, 0)
    assert row.accuracy is None and row.precision is None and row.recall is None and row.f1 is None
    bench = bench_row("sim/garbage", [rec("judge-bench", "sim/garbage", "i0", target="sim/g", repeat=k)
                                      for k in range(3)])
    assert bench.error_rate == 1.0 and bench.consistency is None


def test_a_claimed_parse_without_a_verdict_is_still_an_error() -> None:
    """Defence in depth: only `judge_parsed: True` with a real verdict counts."""
    odd = rec("judge-production", "sim/p", "i0", verdict="maybe", raw=5, expected="good", parsed=True)
    row = production_row("sim/p", [odd])
    assert row.errors == 1 and row.tn == row.fp == 0


def bench_records(judge: str = "sim/judge") -> list[CallRecord]:
    t = "sim/gen-a"
    runs: dict[str, list[tuple[str, str | None, int | None]]] = {
        "i1": [("ok", "good", 8), ("ok", "good", 9), ("ok", "good", 8)],  # agrees (span 1)
        "i2": [("ok", "good", 8), ("ok", "bad", 3), ("ok", "good", 8)],  # verdicts differ
        "i3": [("ok", "good", 7), ("ok", "good", 9), ("ok", None, None)],  # span 2
        "i4": [("ok", "bad", 2), ("ok", None, None), ("error", None, None)],  # one parsed: not judged
        "i5": [("ok", "bad", 2), ("ok", "bad", 3), ("ok", None, None)],  # agrees over parsed runs
    }
    out = []
    for item, calls in runs.items():
        for k, (status, verdict, raw) in enumerate(calls):
            e2e = 300.0 if status == "ok" and verdict is None else 100.0
            out.append(rec("judge-bench", judge, item, status=status, verdict=verdict,  # type: ignore[arg-type]
                           raw=raw, target=t, repeat=k, e2e=e2e))
    return out


def test_bench_consistency_error_rate_and_latency_by_hand() -> None:
    records = bench_records()
    assert consistency(records) == pytest.approx(2 / 4)
    row = bench_row("sim/judge", records)
    assert row.n_items == 5
    assert row.consistency == pytest.approx(0.5)
    assert row.error_rate == pytest.approx(4 / 15)
    assert row.mean_latency_ms == pytest.approx((11 * 100 + 3 * 300) / 14)


def test_consistency_needs_repeats() -> None:
    single = [rec("judge-bench", "j", f"i{n}", verdict="good", raw=8, target="g") for n in range(3)]
    assert consistency(single) is None


def test_build_comparison_leaves_out_models_without_access() -> None:
    generation = [rec("generation", "sim/gen-a", "i1", e2e=50.0), rec("generation", "sim/gen-a", "i2", e2e=70.0),
                  rec("generation", "anthropic/x", "i1", status="skipped"),
                  rec("generation", "anthropic/x", "i2", status="skipped")]
    judged = [*bench_records(), *production_records(),
              rec("judge-production", "openai/y", "i0", status="skipped", expected="good")]
    flags: dict[str, str | int | float | bool | None] = {"judge_eval_mode": "direct", "consistency_runs": 3}
    comparison, notes = build_comparison(run_id="r2", dataset="d.yaml", dataset_hash="h" * 64, flags=flags,
                                         generation=generation, judged=judged)
    assert [(m.generation_model, m.judge_model, m.production_judge_model) for m in comparison.model_runs] == [
        ("sim/gen-a", "sim/judge", "sim/prod")]
    assert any("anthropic/x" in n and "generation" in n for n in notes)
    assert any("openai/y" in n and "production judge" in n for n in notes)
    assert [r.judge for r in comparison.production_judges] == ["sim/prod"]
    metrics = comparison.model_runs[0].metrics
    # judge scores of gen-a's answers over the 11 parsed verdicts: raw 8,9,8,8,3,8,7,9,2,2,3
    raw = [8, 9, 8, 8, 3, 8, 7, 9, 2, 2, 3]
    assert metrics["generation_mean_judge_score"] == pytest.approx(sum((s - 1) * 100 / 9 for s in raw) / 11)
    assert metrics["generation_good_rate"] == pytest.approx(7 / 11)
    assert metrics["generation_mean_latency_ms"] == pytest.approx(60.0)
    assert metrics["generation_error_rate"] == 0.0
    assert metrics["production_accuracy_counting_errors"] == pytest.approx(6 / 11)
    assert metrics["production_error_rate"] == pytest.approx(2 / 11)
    assert metrics["judge_consistency"] == pytest.approx(0.5)
    assert comparison.model_runs[0].judge_eval_mode == "direct"


def _comparison(**changes: object) -> JudgeComparison:
    base: dict[str, object] = {"run_id": "a", "dataset": "d.yaml", "dataset_hash": "a" * 64,
                               "flags": {"judge_eval_mode": "direct", "consistency_runs": 3, "limit": None}}
    return JudgeComparison(**{**base, **changes})  # type: ignore[arg-type]


def test_comparisons_refused_naming_the_differing_field() -> None:
    a = _comparison()
    assert incomparable_reasons(a, _comparison(run_id="b")) == []
    mode = incomparable_reasons(a, _comparison(flags={"judge_eval_mode": "reasoned", "consistency_runs": 3,
                                                      "limit": None}))
    assert mode == ["flag judge_eval_mode differs: 'direct' vs 'reasoned'"]
    missing = incomparable_reasons(a, _comparison(flags={"judge_eval_mode": "direct", "consistency_runs": 3}))
    assert missing == []  # an absent flag equals None...
    extra = incomparable_reasons(a, _comparison(flags={**a.flags, "judge_temperature": 0.0}))
    assert extra == ["flag judge_temperature differs: None vs 0.0"]  # ...but a value that is set is not
    data = incomparable_reasons(a, _comparison(dataset_hash="b" * 64))
    assert len(data) == 1 and data[0].startswith("dataset hash differs: aaaaaaaaaaaa")


# -- the labelled dataset -------------------------------------------------------------------

def test_packaged_dataset_loads_with_both_labels_early() -> None:
    loaded = load_judge_dataset()
    assert loaded.path == DEFAULT_DATASET.resolve()
    assert 12 <= len(loaded.dataset.items) <= 20
    assert {i.label for i in loaded.chosen(4)} == {"good", "bad"}
    assert len(loaded.dataset_hash) == 64


def _write(tmp_path: Path, text: str, name: str = "d.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


DATA = """name: t
items:
  - id: a
    question: Q1?
    answer: A1.
    label: good
  - id: b
    question: Q2?
    answer: A2.
    label: bad
    note: why
"""


def test_hash_ignores_layout_comments_and_notes_but_not_content(tmp_path: Path) -> None:
    first = load_judge_dataset(_write(tmp_path, DATA)).dataset_hash
    relaid = ("# a comment\nname: t\ndescription: other words\nitems:\n"
              "  - {label: good, answer: 'A1.', question: 'Q1?', id: a}\n"
              "  - {id: b, question: \"Q2?\", answer: A2., label: bad, note: another reason}\n")
    assert load_judge_dataset(_write(tmp_path, relaid, "r.yaml")).dataset_hash == first
    flipped = DATA.replace("label: bad", "label: good")
    assert load_judge_dataset(_write(tmp_path, flipped, "f.yaml")).dataset_hash != first


@pytest.mark.parametrize(("text", "where", "message"), [
    (DATA.replace("label: bad", "label: meh"), ":10", "items.1.label"),
    (DATA.replace("    answer: A1.\n", ""), ":3", "items.0.answer: Field required"),
    (DATA.replace("id: b", "id: a"), ":7", "duplicate item id 'a' (first at line 3)"),
    (DATA.replace("    note: why\n", "    notes: why\n"), ":11", "items.1.notes"),
    ("name: t\nitems: []\n", ":2", "items"),
])
def test_bad_dataset_names_file_line_and_field(tmp_path: Path, text: str, where: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_judge_dataset(path)
    assert info.value.where == f"{path}{where}"
    assert message in info.value.message
