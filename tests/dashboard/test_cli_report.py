"""`fleetbench report`: writes the page and the exports, prints a line per tab; bad input
exits 2 and writes nothing."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli.app import app
from tests.dashboard.fixture_runs import build_runs

runner = CliRunner()
TITLES = ["Overview", "LLM comparison", "Judge comparison", "Production judge comparison", "Latency and TTFT",
          "Long context", "Tool use", "History"]


def test_report_writes_dashboard_and_exports(tmp_path: Path) -> None:
    runs = build_runs(tmp_path / "runs")
    result = runner.invoke(app, ["report", "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    assert (runs / "dashboard.html").is_file()
    assert (runs / "exports" / "dashboard.json").is_file() and (runs / "exports" / "models.csv").is_file()
    out = result.output
    assert "dashboard.html" in out and "exports" in out
    for title in TITLES:
        assert f"  {title}: " in out
    assert "rank 1: sim/alpha (91.3), tied with 1" in out and "3 runs over 2 dates" in out


def test_report_out_option(tmp_path: Path) -> None:
    runs = build_runs(tmp_path / "runs")
    target = tmp_path / "site" / "index.html"
    result = runner.invoke(app, ["report", "--runs-dir", str(runs), "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text().startswith("<!DOCTYPE html>") and not (runs / "dashboard.html").exists()


def test_missing_runs_dir_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--runs-dir", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "nope" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "nope").exists()


def test_out_that_is_a_directory_exits_2(tmp_path: Path) -> None:
    runs = build_runs(tmp_path / "runs")
    result = runner.invoke(app, ["report", "--runs-dir", str(runs), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--out" in result.output
    assert not (runs / "exports").exists()
