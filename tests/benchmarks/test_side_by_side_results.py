"""Rows from a tool report, the mock's log and CPU figures; the targets as ratios."""

from __future__ import annotations

import msgspec
import pytest
from sidebyside.figures import Figure
from sidebyside.results import Check, Row, RunConditions, build_row, check_lines, check_targets, table_lines
from sidebyside.tool_report import ToolReport

from tests.benchmarks.test_side_by_side_served import TTFT_S, shared_queue

CONDITIONS = RunConditions(wall_s=30.0, exit_code=0, interrupted=False, load_before=1.0, load_after=2.0,
                           others_busy_cores=0.4, cpu_meter="cgroup v2")


def _fig(point: float | None) -> Figure:
    return Figure(point=point, lo=None, hi=None, n=0 if point is None else 100)


def make_row(tool: str, c: int, *, duration: float = 0.365, ttft_p50: float | None = 60.0,
             cpu_window_s: float | None = 1.0, matched_extra_ms: float = 0.0) -> Row:
    served = shared_queue(concurrency=c, duration=duration, jobs=c * 20)
    report = ToolReport(tool=tool, completed=len(served), failed=0, ttft_p50_ms=_fig(ttft_p50),
                        ttft_p95_ms=_fig(None if ttft_p50 is None else ttft_p50 + 10))
    # every request's TTFT as the tool saw it is its p50: tool and mock are both constant
    # (unless told to differ by `matched_extra_ms`)
    by_id = {r.id: ttft_p50 + matched_extra_ms for r in served if r.id and ttft_p50 is not None}
    return build_row(concurrency=c, ideal_rps=c / 0.365, reported=report, served=served, tool_ttft_by_id=by_id,
                     tool_cpu_window_s=cpu_window_s, tool_cpu_whole_s=5.0, mock_cpu_window_s=0.5,
                     conditions=CONDITIONS)


def test_a_row_joins_the_tool_the_mock_and_the_meters() -> None:
    row = make_row("guidellm", 4)
    assert row.mock_served == 80 and row.mock_aborted == 0
    assert row.plateau_rps is not None and row.plateau_rps.n == 4 * 18
    assert row.plateau_of_ideal == pytest.approx(1.0)
    assert row.mock_ttft_p50_ms.point == pytest.approx(TTFT_S * 1000, abs=1e-3)
    assert row.inflation_p50_ms == pytest.approx(60.0 - TTFT_S * 1000, abs=1e-3)
    assert row.inflation_p95_ms == pytest.approx(70.0 - TTFT_S * 1000, abs=1e-3)
    assert row.matched_inflation_p50_ms.point == pytest.approx(60.0 - TTFT_S * 1000, abs=1e-3)
    assert row.matched_inflation_p50_ms.n == 80
    assert row.cpu_ms_per_request == pytest.approx(1000.0 / (4 * 18))
    assert row.cpu_ms_per_request_whole == pytest.approx(5000.0 / 80)
    assert row.mock_cpu_ms_per_request == pytest.approx(500.0 / (4 * 18))


def test_a_tool_that_failed_gives_a_row_without_figures() -> None:
    none = _fig(None)
    report = ToolReport(tool="fleetbench", completed=0, failed=0, ttft_p50_ms=none, ttft_p95_ms=none, note="x")
    row = build_row(concurrency=16, ideal_rps=16 / 0.365, reported=report, served=[], tool_ttft_by_id={},
                    tool_cpu_window_s=None,
                    tool_cpu_whole_s=2.0, mock_cpu_window_s=None, conditions=CONDITIONS)
    assert row.plateau_rps is None and row.inflation_p50_ms is None and row.cpu_ms_per_request is None
    assert row.cpu_ms_per_request_whole is None  # no request completed to divide by
    assert "| 16 | fleetbench | 0 / 0 | - (-) | - |" in table_lines([row])[2]


def _verdicts(checks: list[Check], target: str) -> dict[int, bool | None]:
    return {c.concurrency: c.passed for c in checks if c.target.startswith(target)}


def test_throughput_is_judged_as_a_ratio_at_16_64_256_only() -> None:
    rows = []
    for c in (1, 16, 64):
        rows.append(make_row("guidellm", c, duration=0.5))
        # fleetbench: 1.3x guidellm's rate at 16, only 1.2x at 64
        rows.append(make_row("fleetbench", c, duration=0.5 / (1.3 if c == 16 else 1.2)))
    verdicts = _verdicts(check_targets(rows), "throughput")
    assert verdicts == {16: True, 64: False}


def test_ttft_inflation_is_judged_against_guidellm_and_against_2_ms_up_to_16() -> None:
    mock_ms = TTFT_S * 1000
    rows = [make_row("guidellm", 1, ttft_p50=mock_ms + 3.0), make_row("fleetbench", 1, ttft_p50=mock_ms + 2.5),
            make_row("guidellm", 16, ttft_p50=mock_ms + 1.0), make_row("fleetbench", 16, ttft_p50=mock_ms + 1.5),
            make_row("guidellm", 64, ttft_p50=mock_ms + 40.0), make_row("fleetbench", 64, ttft_p50=mock_ms + 30.0)]
    checks = check_targets(rows)
    assert _verdicts(checks, "TTFT p50 inflation <= guidellm") == {1: True, 16: False, 64: True}
    assert _verdicts(checks, "TTFT p50 inflation <= 2") == {1: False, 16: True}


def test_cpu_is_judged_as_half_of_guidellms_and_missing_figures_are_not_met() -> None:
    rows = [make_row("guidellm", 1, cpu_window_s=2.0), make_row("fleetbench", 1, cpu_window_s=1.0),
            make_row("guidellm", 16, cpu_window_s=2.0), make_row("fleetbench", 16, cpu_window_s=1.1),
            make_row("guidellm", 64, cpu_window_s=2.0), make_row("fleetbench", 64, cpu_window_s=None)]
    checks = check_targets(rows)
    assert _verdicts(checks, "client CPU") == {1: True, 16: False, 64: None}
    lines = check_lines(checks)
    assert any("| client CPU per request <= 0.5x guidellm's | 64 | - | " in line and line.endswith("n/a |")
               for line in lines)
    assert any("| client CPU per request <= 0.5x guidellm's | 1 |" in line and "| 0.50 | PASS |" in line
               for line in lines)


def test_a_level_with_one_tool_only_has_no_checks() -> None:
    assert check_targets([make_row("fleetbench", 16)]) == []


def test_inflation_is_judged_per_request_not_as_a_difference_of_p50s() -> None:
    mock_ms = TTFT_S * 1000
    # fleetbench's p50 sits 1 ms above the mock's, but matched request by request it adds 3 ms
    rows = [make_row("guidellm", 16, ttft_p50=mock_ms + 2.0),
            make_row("fleetbench", 16, ttft_p50=mock_ms + 1.0, matched_extra_ms=2.0)]
    fb = rows[1]
    assert fb.inflation_p50_ms == pytest.approx(1.0, abs=1e-3)
    assert fb.matched_inflation_p50_ms.point == pytest.approx(3.0, abs=1e-3)
    checks = check_targets(rows)
    assert _verdicts(checks, "TTFT p50 inflation <= guidellm") == {16: False}
    assert _verdicts(checks, "TTFT p50 inflation <= 2") == {16: False}


def test_rows_come_back_from_the_json_the_script_writes() -> None:
    rows = [make_row("guidellm", 4), make_row("fleetbench", 4, matched_extra_ms=1.0)]
    document = msgspec.json.decode(msgspec.json.encode({"rows": rows, "checks": check_targets(rows)}))
    again = msgspec.convert(document["rows"], list[Row])
    assert again == rows
    assert table_lines(again) == table_lines(rows)
