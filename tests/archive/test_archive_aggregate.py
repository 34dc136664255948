"""Statistics, lineage-aware aggregation, markdown summaries and the browse data."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import pytest

from archive.aggregate import aggregate
from archive.browse import list_runs_table, show_run
from archive.stats import summarize
from archive.stats_md import render_run_summary
from archive.store import RunStore
from harness.errors import InputError
from harness.records import CallRecord


def rec(item: str, status: str = "ok", *, run_id: str = "parent", model: str = "sim/fast", phase: str = "baseline",
        ttft: float | None = None, e2e: float | None = None, error_class: str | None = None,
        cost: float | None = None, tokens: tuple[int, int] = (0, 0), variant: str = "") -> CallRecord:
    return CallRecord(run_id=run_id, phase=phase, item_id=item, model=model, variant=variant,
                      status=status, ttft_ms=ttft, e2e_ms=e2e, error_class=error_class,  # type: ignore[arg-type]
                      cost_usd=cost, input_tokens=tokens[0], output_tokens=tokens[1])


def manifest(run_id: str, created_at: str, parent: str | None = None, status: str = "completed") -> dict[str, Any]:
    return {"run_id": run_id, "created_at": created_at, "status": status, "parent_run": parent,
            "phases": ["baseline"], "models": ["sim/fast"]}


def test_percentiles_on_known_values() -> None:
    records = [rec(f"i{n}", ttft=float(n), e2e=float(10 * n)) for n in range(1, 11)]
    records.append(rec("late", "error", ttft=999.0, e2e=9999.0, error_class="timeout"))
    (row,) = summarize(records)
    assert row.ttft_p50_ms == pytest.approx(5.5)
    assert row.ttft_p95_ms == pytest.approx(9.55)
    assert row.e2e_p50_ms == pytest.approx(55.0)
    assert row.e2e_p95_ms == pytest.approx(95.5)


def test_summarize_counts_rates_tokens_cost() -> None:
    records = [
        rec("a", ttft=100, e2e=200, cost=0.5, tokens=(10, 20)),
        rec("b", ttft=300, e2e=400, tokens=(5, 7)),
        rec("c", "error", error_class="rate_limited"),
        rec("d", "error", error_class="rate_limited"),
        rec("e", "skipped"),
        rec("a", model="sim/slow", variant="ctx-8k"),
        rec("a", phase="stress", model="sim/fast"),
    ]
    rows = summarize(records)
    assert [(r.phase, r.model, r.variant) for r in rows] == [
        ("baseline", "sim/fast", ""), ("baseline", "sim/slow", "ctx-8k"), ("stress", "sim/fast", "")]
    main = rows[0]
    assert (main.calls, main.ok, main.error, main.skipped) == (5, 2, 2, 1)
    assert main.success_rate == pytest.approx(0.5)  # skipped excluded
    assert (main.input_tokens, main.output_tokens) == (15, 27)
    assert main.cost_usd == pytest.approx(0.5)
    assert main.errors == {"rate_limited": 2}
    assert rows[1].cost_usd is None and rows[1].label == "sim/slow [ctx-8k]"


def _archive(tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    store = RunStore(runs)
    parent = store.create("20261122T071355123Z-aaaaaa", manifest("20261122T071355123Z-aaaaaa", "2026-11-22T07:13:55.123Z"))
    parent.append_records([
        rec("q1", ttft=100, e2e=1000, tokens=(10, 5), cost=0.01),
        rec("q2", "error", error_class="rate_limited"),
        rec("q3", "error", error_class="timeout"),
    ])
    child = store.create("20261123T080000000Z-bbbbbb", manifest(
        "20261123T080000000Z-bbbbbb", "2026-11-23T08:00:00.000Z", parent="20261122T071355123Z-aaaaaa"))
    child.append_records([rec("q2", ttft=300, e2e=3000, tokens=(20, 10), cost=0.03, run_id=child.run_id)])
    other = store.create("solo", manifest("solo", "2026-11-24T00:00:00.000Z", status="interrupted"))
    other.append_records([rec("q1", ttft=200, e2e=2000, model="sim/slow", run_id="solo")])
    store.create("empty", manifest("empty", "2026-11-25T00:00:00.000Z"))  # no results.jsonl
    return runs


def test_aggregate_child_replaces_parent_error_and_keeps_lineage(tmp_path: Path) -> None:
    runs = _archive(tmp_path)
    result = aggregate(runs)
    lineages = {lin.root: lin for lin in result.lineages}
    assert set(lineages) == {"20261122T071355123Z-aaaaaa", "solo", "empty"}
    lin = lineages["20261122T071355123Z-aaaaaa"]
    assert lin.runs == ["20261122T071355123Z-aaaaaa", "20261123T080000000Z-bbbbbb"]
    assert lin.supplied == {"20261122T071355123Z-aaaaaa": 2, "20261123T080000000Z-bbbbbb": 1}
    (row,) = lin.stats
    assert (row.calls, row.ok, row.error) == (3, 2, 1)  # q2's error replaced by the child's ok
    assert row.errors == {"timeout": 1}
    assert row.ttft_p50_ms == pytest.approx(200.0) and row.cost_usd == pytest.approx(0.04)
    assert lineages["empty"].records == 0

    data = json.loads((runs / "aggregate.json").read_text())
    assert [r["run_id"] for r in data["runs"]][:2] == ["20261122T071355123Z-aaaaaa", "20261123T080000000Z-bbbbbb"]
    by_root = {lin["root"]: lin for lin in data["lineages"]}
    assert by_root["20261122T071355123Z-aaaaaa"]["supplied"]["20261123T080000000Z-bbbbbb"] == 1
    assert {(r["model"], r["calls"]) for r in data["overall"]} == {("sim/fast", 3), ("sim/slow", 1)}
    assert not list(runs.glob(".*tmp*"))


def test_aggregate_markdown_has_the_numbers(tmp_path: Path) -> None:
    runs = _archive(tmp_path)
    aggregate(runs)
    md = (runs / "AGGREGATE_SUMMARY.md").read_text()
    assert "## Phase `baseline`" in md
    # calls, ok, error, skipped, success % [Wilson 95%], TTFT p50/p95, E2E p50/p95, tokens in/out, cost
    assert "| sim/fast | 3 | 2 | 1 | 0 | 66.7 [20.8, 93.9] | 200.0 | 290.0 | 2000.0 | 2900.0 | 30 | 15 | 0.0400 |" in md
    assert "| sim/slow | 1 | 1 | 0 | 0 | 100.0 [20.7, 100.0] | 200.0 | 200.0 | 2000.0 | 2000.0 | 0 | 0 | – |" in md
    assert "| baseline | sim/fast | timeout | 1 |" in md
    assert "20261122T071355123Z-aaaaaa: 2, 20261123T080000000Z-bbbbbb: 1" in md
    assert "| empty |" in md


def test_aggregate_reports_unreadable_run_instead_of_failing(tmp_path: Path) -> None:
    runs = _archive(tmp_path)
    bad = RunStore(runs).find("solo")
    bad.results_path.write_bytes(b"{nope\n" + bad.results_path.read_bytes())
    result = aggregate(runs)
    assert "solo" in result.unreadable
    assert "Unreadable runs" in (runs / "AGGREGATE_SUMMARY.md").read_text()


def test_aggregate_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        aggregate(tmp_path / "nope")


def test_run_summary_sections_hook() -> None:
    records = [rec("a", ttft=10, e2e=20), rec("b", "error", error_class="auth"), rec("x", phase="stress", ttft=5, e2e=6)]
    seen: list[int] = []

    def baseline_section(rs: Sequence[CallRecord]) -> str | None:
        seen.append(len(rs))
        return "### Adherence\n\nall good"

    md = render_run_summary(manifest("r1", "2026-11-22T07:13:55.123Z"), records,
                            sections={"baseline": baseline_section, "stress": lambda rs: None})
    assert md.startswith("# Run r1\n")
    assert "- status: completed" in md and "- models: sim/fast" in md and "- phases: baseline" in md
    assert seen == [2]
    assert md.index("## Phase `baseline`") < md.index("### Adherence") < md.index("## Phase `stress`")
    assert "| sim/fast | 2 | 1 | 1 | 0 | 50.0 [9.5, 90.5] | 10.0 | 10.0 | 20.0 | 20.0 |" in md
    assert "| baseline | sim/fast | auth | 1 |" in md
    assert "No results recorded." in render_run_summary({"run_id": "e"}, [])


def test_browse(tmp_path: Path) -> None:
    runs = _archive(tmp_path)
    table = list_runs_table(runs)
    assert [i.run_id for i in table] == ["20261122T071355123Z-aaaaaa", "20261123T080000000Z-bbbbbb", "empty", "solo"]
    first = table[0]
    assert (first.date, first.n_records, first.status) == ("2026-11-22", 3, "completed")
    assert first.ok_rate == pytest.approx(1 / 3) and first.models == ["sim/fast"]
    assert table[1].parent == "20261122T071355123Z-aaaaaa"
    assert table[2].n_records == 0 and table[2].ok_rate is None
    detail = show_run(runs, "solo")
    assert detail.info.status == "interrupted" and detail.stats[0].model == "sim/slow"
    with pytest.raises(InputError):
        show_run(runs, "ghost")


def test_run_summary_reports_both_ttfts_when_a_model_reasoned() -> None:
    plain = rec("a", ttft=10, e2e=20)
    thinking = [msgspec.structs.replace(rec(f"t{i}", model="sim/thinker", ttft=300 + i, e2e=320 + i),
                                        first_token_ms=30.0 + i, reasoning_ms=260.0, reasoning_tokens=40)
                for i in range(3)]
    md = render_run_summary(manifest("r1", "2026-11-22T07:13:55.123Z"), [plain, *thinking])
    assert "| model | TTFT p50 ms (first answer token) | first token p50 ms (any kind) |" in md
    assert "| sim/thinker | 301.0 | 31.0 | 260.0 | 120 |" in md and "| sim/fast | 10.0 |" not in md
    assert "first answer token" not in render_run_summary(manifest("r2", "2026-11-22T07:13:55.123Z"), [plain])
