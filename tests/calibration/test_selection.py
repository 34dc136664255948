"""Model selection and routing on toy models whose numbers are computed by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calibration.benchmarks_data import BenchmarkEntry, BenchmarksFile, Price, load_benchmarks
from calibration.routing import RouteRequest, route
from calibration.schema import Rankings, RankRow
from calibration.selection import measured_by_model, public_score, select
from calibration.settings import SelectionSettings
from cli.app import app

runner = CliRunner()
W = {"mmlu": 0.5, "humaneval": 0.5}


def entry(model: str, mmlu: float, humaneval: float | None, price: float, **kw: object) -> BenchmarkEntry:
    scores = {"mmlu": mmlu} | ({"humaneval": humaneval} if humaneval is not None else {})
    return BenchmarkEntry(id=model, scores=scores, price=Price(input=price, output=price), **kw)  # type: ignore[arg-type]


DATA = BenchmarksFile(models=[
    entry("x/free", 60, 40, 0.0),  # overall 50, value 50/0.01 = 5000
    entry("x/cheap", 70, 70, 0.09),  # overall 70, value 70/0.10 = 700
    entry("x/mid", 80, 80, 0.39),  # overall 80, value 80/0.40 = 200
    entry("x/premium", 90, 90, 0.99),  # overall 90, value 90/1.00 = 90
    entry("x/luxury", 99, 99, 5.0),  # over every cap
])


def settings(**kw: object) -> SelectionSettings:
    return SelectionSettings(benchmark_weights=W, **kw)  # type: ignore[arg-type]


def test_public_score_renormalises_over_present_benchmarks_and_scales_mt_bench() -> None:
    assert public_score(entry("a/b", 60, 40, 0), W) == 50.0
    assert public_score(entry("a/b", 60, None, 0), W) == 60.0
    mt = BenchmarkEntry(id="a/b", scores={"mmlu": 80, "mt_bench": 9.0}, price=Price(input=0, output=0))
    assert public_score(mt, {"mmlu": 0.5, "mt_bench": 0.5}) == 85.0


def test_values_and_picks_by_hand() -> None:
    sel = select(DATA, {}, settings(), benchmarks_file="toy", now="t")
    rows = {r.model: r for r in sel.table}
    assert rows["x/cheap"].value == pytest.approx(700.0) and rows["x/mid"].value == pytest.approx(200.0)
    assert rows["x/premium"].value == pytest.approx(90.0) and rows["x/free"].value == pytest.approx(5000.0)
    picks = {p.slot: p.model for p in sel.picks}
    assert picks == {"MIN": "x/free", "DEFAULT": "x/cheap", "MAX": "x/premium"}
    assert "700.0" in sel.picks[1].reason and "$0.50/M" in sel.picks[1].reason
    tighter = select(DATA, {}, settings(), benchmarks_file="toy", now="t", max_cap=0.5)
    assert {p.slot: p.model for p in tighter.picks}["MAX"] == "x/mid"


def test_measured_scores_blend_and_no_access_is_left_out() -> None:
    rankings = Rankings(generated_at="t", score_source="s",
                        overall=[RankRow(model="openai/cheap", rank=1, mean=30.0, ci_low=20, ci_high=40, n=10)])
    measured = measured_by_model(rankings, {"openai/cheap": (9, 1, 0), "anthropic/premium": (0, 0, 12)})
    data = BenchmarksFile(models=[entry("x/cheap", 70, 70, 0.09, aliases=["openai/cheap"]),
                                  entry("x/mid", 80, 80, 0.39),
                                  entry("x/premium", 90, 90, 0.99, aliases=["anthropic/premium"])])
    sel = select(data, measured, settings(measured_weight=0.5), benchmarks_file="toy", now="t")
    rows = {r.model: r for r in sel.table}
    assert rows["x/cheap"].overall == pytest.approx(50.0)  # (70 + 30) / 2
    assert rows["x/cheap"].availability == pytest.approx(0.9) and rows["x/cheap"].measured_score == 30.0
    assert not rows["x/premium"].eligible and "no access" in rows["x/premium"].note
    assert {p.slot: p.model for p in sel.picks}["MAX"] == "x/mid"
    assert {p.slot: p.model for p in sel.picks}["MIN"] is None


def test_route_rules_and_precedence() -> None:
    sel = select(DATA, {}, settings(), benchmarks_file="toy", now="t")

    def slot(**kw: object) -> tuple[str, str | None, str]:
        d = route(sel, RouteRequest(**kw), low_score=70)  # type: ignore[arg-type]
        return d.slot, d.model, d.reason

    assert slot()[:2] == ("DEFAULT", "x/cheap")
    assert slot(importance="critical")[:2] == ("MAX", "x/premium")
    assert slot(complexity="complex", task_type="coding")[0] == "MAX"
    assert slot(complexity="complex", task_type="summary")[0] == "DEFAULT"
    assert "65 < 70" in slot(previous_score=65)[2] and slot(previous_score=75)[0] == "DEFAULT"
    assert slot(cost_concerns="high")[:2] == ("MIN", "x/free") and slot(complexity="simple")[0] == "MIN"
    assert slot(prototyping=True)[0] == "MIN"
    # a rate limit beats an upgrade: the default cannot be called now
    assert slot(importance="critical", rate_limited=True)[:2] == ("MIN", "x/free")


def test_shipped_data_file_loads_and_bad_files_name_the_line(tmp_path: Path) -> None:
    assert len(load_benchmarks().models) >= 12
    bad = tmp_path / "bench.yaml"
    bad.write_text("models:\n  - id: a/b\n    scores: {mmlu: 8o}\n    price: {input: 0, output: 0}\n")
    result = runner.invoke(app, ["select", "--runs-dir", str(tmp_path), "--benchmarks", str(bad)])
    assert result.exit_code == 2 and "bench.yaml:3" in result.output
    dup = tmp_path / "dup.yaml"
    dup.write_text("models:\n  - id: a/b\n    price: {input: 0, output: 0}\n  - id: a/b\n    price: {input: 0, output: 0}\n")
    result = runner.invoke(app, ["select", "--runs-dir", str(tmp_path), "--benchmarks", str(dup)])
    assert result.exit_code == 2 and "dup.yaml:4" in result.output and "duplicate" in result.output


def test_select_then_route_cli(tmp_path: Path) -> None:
    result = runner.invoke(app, ["select", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "selection.json").read_text())
    assert [p["slot"] for p in saved["picks"]] == ["MIN", "DEFAULT", "MAX"]
    routed = runner.invoke(app, ["route", "--runs-dir", str(tmp_path), "--importance", "critical", "--json"])
    assert routed.exit_code == 0 and json.loads(routed.output)["slot"] == "MAX"
    assert json.loads(routed.output)["model"] == saved["picks"][2]["model"]
    bad = runner.invoke(app, ["route", "--runs-dir", str(tmp_path), "--complexity", "huge"])
    assert bad.exit_code == 2 and "--complexity" in bad.output


def test_selection_is_stamped_with_the_archive_and_rewritten_byte_for_byte(tmp_path: Path) -> None:
    from archive.store import RunStore
    from calibration.schema import SELECTION_JSON
    from calibration.select_run import write_selection

    RunStore(tmp_path).create("r1", {"run_id": "r1", "created_at": "2026-11-20T10:00:00.000Z", "status": "completed"})
    first = write_selection(tmp_path, SelectionSettings())
    data = (tmp_path / SELECTION_JSON).read_bytes()
    assert first.generated_at == "2026-11-20T10:00:00.000Z"  # the newest run, not the clock
    write_selection(tmp_path, SelectionSettings())
    assert (tmp_path / SELECTION_JSON).read_bytes() == data
