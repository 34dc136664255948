"""`calibrate` over archives built in tmp dirs: repeats clustered, whose failure it was, one
accuracy rule, byte-identical re-runs, and the per-lineage cache (only new records read)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import msgspec
import pytest

from archive.store import RunDir, RunStore
from calibration.cache import CACHE_FILE
from calibration.calibrate import calibrate
from calibration.manual_store import ManualScoreLine, append_manual_score
from calibration.schema import RANKINGS_JSON, ROUTING_WEIGHTS_JSON, Rankings
from calibration.settings import CalibrationSettings, RubricSettings
from harness.records import CallRecord

DEFAULTS = CalibrationSettings()


def rec(run: str, item: str, model: str, *, repeat: int = 0, status: str = "ok", error_class: str | None = None,
        phase: str = "baseline", category: str = "routing", **extra: object) -> CallRecord:
    return CallRecord(run_id=run, phase=phase, item_id=item, model=model, repeat=repeat, category=category,
                      status=status, error_class=error_class, extra=dict(extra))  # type: ignore[arg-type]


def make_run(runs: Path, run_id: str, day: int, records: list[CallRecord], *, parent: str | None = None) -> RunDir:
    run = RunStore(runs).create(run_id, {"run_id": run_id, "created_at": f"2026-11-{day:02d}T10:00:00.000Z",
                                         "status": "completed", "parent_run": parent})
    run.append_records(records)
    return run


def rankings_of(runs: Path) -> Rankings:
    return msgspec.json.decode((runs / RANKINGS_JSON).read_bytes(), type=Rankings)


def test_five_repeats_of_identical_outputs_do_not_narrow_an_interval(tmp_path: Path) -> None:
    """The measured defect: with --repeat K the intervals shrank by about sqrt(K) on the same outputs."""
    scores = {"i0": 1.0, "i1": 0.5, "i2": 1.0, "i3": 0.0}
    once, five = tmp_path / "once", tmp_path / "five"
    make_run(once, "r1", 20, [rec("r1", i, "m", adherence=a) for i, a in scores.items()])
    make_run(five, "r1", 20, [rec("r1", i, "m", repeat=k, adherence=a) for i, a in scores.items() for k in range(5)])
    a, b = calibrate(once, DEFAULTS).rankings, calibrate(five, DEFAULTS).rankings
    strip = [(r.mean, r.ci_low, r.ci_high, r.n) for r in a.overall]
    assert strip == [(r.mean, r.ci_low, r.ci_high, r.n) for r in b.overall] and strip[0][3] == 4
    assert (a.overall[0].answers, b.overall[0].answers) == (4, 20)


def test_our_failures_are_never_the_models_and_the_providers_are_reported_apart(tmp_path: Path) -> None:
    """The measured defect: subagent_lost and our own transport errors were scored 0."""
    records = [rec("r1", f"i{n}", "m", adherence=1.0) for n in range(4)]
    records += [rec("r1", "i4", "m", status="error", error_class="subagent_lost"),
                rec("r1", "i5", "m", status="error", error_class="client_error"),
                rec("r1", "i6", "m", status="error", error_class="rate_limited"),
                rec("r1", "i7", "m", status="error", error_class="context_overflow"),
                rec("r1", "i8", "m", status="skipped", error_class="no_access")]
    make_run(tmp_path, "r1", 20, records)
    result = calibrate(tmp_path, DEFAULTS)
    (row,) = result.rankings.overall
    assert (row.mean, row.n) == (100.0, 4)  # quality: the four answers, nothing else
    (failures,) = result.rankings.failures
    assert (failures.calls, failures.ok, failures.provider_errors, failures.our_errors, failures.skipped) == (
        9, 4, 2, 2, 1)
    assert failures.provider_classes == {"context_overflow": 1, "rate_limited": 1}
    assert failures.our_classes == {"client_error": 1, "subagent_lost": 1}
    assert failures.rate == pytest.approx(2 / 6) and failures.items == 6  # our failures are not in the rate
    assert failures.ci_low < 2 / 6 < failures.ci_high
    assert result.weights.weights == {"m": {"routing": 1.0}}


def test_tool_accuracy_is_over_ok_calls_as_in_the_tool_use_phase(tmp_path: Path) -> None:
    """The measured defect: the phase counted accuracy over ok calls, calibration scored errors 0."""
    records = [rec("r1", f"t{n}", "m", phase="tool-use", category="simple", tool_passed=n < 3) for n in range(4)]
    records += [rec("r1", "t4", "m", phase="tool-use", category="simple", status="error", error_class="server_error")]
    make_run(tmp_path, "r1", 20, records)
    rankings = calibrate(tmp_path, DEFAULTS).rankings
    assert rankings.overall[0].mean == pytest.approx(75.0)  # not 60: the failed call is no answer
    (tool,) = rankings.by_source["tool"]
    assert tool.mean == pytest.approx(75.0) and tool.n == 4  # 3 passed of 4 ok calls
    assert rankings.failures[0].provider_errors == 1


def test_two_answers_each_leave_two_models_tied(tmp_path: Path) -> None:
    """The measured defect: classification ranked gemma3 1st at 50.0 [50.0, 50.0] and smollm2
    2nd at 0.0 [0.0, 0.0] on two answers each."""
    make_run(tmp_path, "r1", 20, [rec("r1", f"c{n}", m, category="classification", adherence=a)
                                  for n in range(2) for m, a in (("local/gemma3-270m", 0.5), ("local/smollm2-135m", 0.0))])
    rows = calibrate(tmp_path, DEFAULTS).rankings.by_category["classification"]
    assert [(r.model, r.rank, r.n) for r in rows] == [("local/gemma3-270m", 1, 2), ("local/smollm2-135m", 1, 2)]
    assert rows[0].tied_with == ["local/smollm2-135m"] and rows[0].ci_high - rows[0].ci_low > 40


def test_overall_weighs_categories_equally_and_sources_have_their_own_tables(tmp_path: Path) -> None:
    """The measured defect: "overall" pooled ten tool calls with two rubric scores."""
    records = [rec("r1", f"t{n}", "m", phase="tool-use", category="simple", tool_passed=True) for n in range(10)]
    records += [rec("r1", f"b{n}", "m", phase="calibration", category="backend", rubric={"total": 0.0})
                for n in range(2)]
    make_run(tmp_path, "r1", 20, records)
    rankings = calibrate(tmp_path, DEFAULTS).rankings
    assert rankings.overall[0].mean == pytest.approx(50.0)  # not 1000 / 12
    assert {s: rows[0].mean for s, rows in rankings.by_source.items()} == {"rubric": 0.0, "tool": 100.0}


def test_the_same_archive_gives_the_same_bytes(tmp_path: Path) -> None:
    """The measured defect: files were stamped with the clock. Times now come from the archive."""
    runs = tmp_path / "runs"
    make_run(runs, "r1", 20, [rec("r1", f"i{n}", m, adherence=a) for n in range(5) for m, a in (("a", 0.9), ("b", 0.4))])
    make_run(runs, "r2", 22, [rec("r2", f"i{n}", "a", adherence=0.2) for n in range(5)])
    pristine = tmp_path / "pristine"
    shutil.copytree(runs, pristine)
    calibrate(runs, DEFAULTS)
    first = {name: (runs / name).read_bytes() for name in (RANKINGS_JSON, ROUTING_WEIGHTS_JSON)}
    assert rankings_of(runs).generated_at == "2026-11-22T10:00:00.000Z"  # the newest run's created_at
    calibrate(runs, DEFAULTS)  # again over the unchanged archive: nothing moves
    assert {name: (runs / name).read_bytes() for name in first} == first
    shutil.rmtree(runs)
    shutil.copytree(pristine, runs)  # the same archive from scratch, later on the clock
    calibrate(runs, DEFAULTS)
    assert {name: (runs / name).read_bytes() for name in first} == first


def test_after_a_new_run_only_its_records_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for day in range(3):
        make_run(tmp_path, f"r{day}", 20 + day, [rec(f"r{day}", f"i{n}", "m", adherence=0.5) for n in range(4)])
    cold = calibrate(tmp_path, DEFAULTS)
    assert (cold.lineages_read, cold.lineages_cached) == (3, 0)
    assert all((p.parent / CACHE_FILE).is_file() for p in tmp_path.glob("*/*/results.jsonl"))
    make_run(tmp_path, "r9", 28, [rec("r9", f"i{n}", "m", adherence=1.0) for n in range(4)])
    read: list[str] = []
    original = RunDir.load_records
    monkeypatch.setattr(RunDir, "load_records", lambda self: read.append(self.run_id) or original(self))
    warm = calibrate(tmp_path, DEFAULTS)
    assert (warm.lineages_read, warm.lineages_cached, warm.new_runs) == (1, 3, ["r9"])
    assert read == []  # records are streamed, never loaded as a list
    assert warm.rankings.overall[0].answers == 16 and warm.rankings.overall[0].mean == pytest.approx(62.5)
    assert calibrate(tmp_path, DEFAULTS).lineages_read == 0


def test_the_cache_follows_the_files(tmp_path: Path) -> None:
    run = make_run(tmp_path, "r1", 20, [rec("r1", f"i{n}", "m", adherence=0.5) for n in range(4)])
    calibrate(tmp_path, DEFAULTS)
    stat = run.results_path.stat()
    os.utime(run.results_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched: same bytes
    assert calibrate(tmp_path, DEFAULTS).lineages_read == 0  # the content hash vouches for it
    assert calibrate(tmp_path, DEFAULTS).lineages_read == 0  # and the new mtime was stored
    data = run.results_path.read_bytes()
    run.results_path.write_bytes(data.replace(b'"adherence":0.5', b'"adherence":0.7', 1))  # same size, new bytes
    changed = calibrate(tmp_path, DEFAULTS)
    assert changed.lineages_read == 1 and changed.rankings.overall[0].mean == pytest.approx(55.0)
    append_manual_score(run.path, ManualScoreLine(key=("baseline", "i1", "m", "", 0), criterion="correctness",
                                                  points=20, max_points=20, scored_at="t"))
    assert calibrate(tmp_path, DEFAULTS).lineages_read == 1  # new manual scores: re-read
    other = CalibrationSettings(rubric=RubricSettings(weights={"correctness": 100}))
    manual = calibrate(tmp_path, other)  # other rubric weights: re-read, and now i1 is fully scored
    assert manual.lineages_read == 1 and manual.rankings.overall[0].mean == pytest.approx((70 + 100 + 50 + 50) / 4)


def test_a_retry_joins_its_lineage_and_supersedes_the_parents_failures(tmp_path: Path) -> None:
    make_run(tmp_path, "p", 20, [rec("p", "i0", "m", status="error", error_class="rate_limited"),
                                 rec("p", "i1", "m", adherence=0.0)])
    first = calibrate(tmp_path, DEFAULTS)
    assert first.rankings.failures[0].provider_errors == 1
    make_run(tmp_path, "c", 21, [rec("c", "i0", "m", adherence=1.0)], parent="p")
    retried = calibrate(tmp_path, DEFAULTS)
    assert retried.lineages_read == 1  # the lineage changed: read again, alone
    (row,) = retried.rankings.overall
    assert (row.n, row.mean) == (2, 50.0) and retried.rankings.failures[0].provider_errors == 0
    assert retried.new_runs == ["c"]


def test_an_unreadable_run_is_remembered_not_reread(tmp_path: Path) -> None:
    make_run(tmp_path, "good", 20, [rec("good", "i", "a", adherence=1.0)])
    bad = make_run(tmp_path, "bad", 20, [rec("bad", "i", "z", adherence=1.0)])
    bad.results_path.write_bytes(b"not json\n" + bad.results_path.read_bytes())
    first = calibrate(tmp_path, DEFAULTS)
    assert list(first.unreadable) == ["bad"] and "results.jsonl:1" in first.unreadable["bad"]
    again = calibrate(tmp_path, DEFAULTS)
    assert again.lineages_read == 0 and list(again.unreadable) == ["bad"]
    assert [r.model for r in again.rankings.overall] == ["a"]


def test_suspect_items_reach_the_rankings(tmp_path: Path) -> None:
    records = [rec("r1", "broken", m, phase="tool-use", category="simple", tool_passed=False) for m in "abc"]
    records += [rec("r1", "easy", m, phase="tool-use", category="simple", tool_passed=True) for m in "abc"]
    records += [rec("r1", "fine", m, phase="tool-use", category="simple", tool_passed=m == "a") for m in "abc"]
    make_run(tmp_path, "r1", 20, records)
    suspects = calibrate(tmp_path, DEFAULTS).rankings.suspect_items
    assert [(s.item_id, s.verdict, s.models, s.source) for s in suspects] == [
        ("broken", "suspect gold", 3, "tool"), ("easy", "too easy", 3, "tool")]
