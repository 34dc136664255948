"""The same archive gives byte-identical rankings.json, routing weights and dashboard.html:
times come from the archive, never the clock, and nothing is drawn at random."""

from __future__ import annotations

import shutil
from pathlib import Path

from calibration.calibrate import calibrate
from calibration.schema import RANKINGS_JSON, ROUTING_WEIGHTS_JSON, SELECTION_JSON
from calibration.select_run import write_selection
from calibration.settings import CalibrationSettings
from dashboard.collect import collect
from dashboard.report import DASHBOARD_HTML, build_report
from tests.dashboard.fixture_runs import build_runs

FILES = (RANKINGS_JSON, ROUTING_WEIGHTS_JSON, SELECTION_JSON, DASHBOARD_HTML, "exports/dashboard.json",
         "exports/rankings.csv", "exports/models.csv")


def _decide_and_report(runs: Path) -> dict[str, bytes]:
    settings = CalibrationSettings()
    calibrate(runs, settings)
    write_selection(runs, settings.selection)
    build_report(runs)
    return {name: (runs / name).read_bytes() for name in FILES}


def test_calibrate_and_report_twice_give_the_same_bytes(tmp_path: Path) -> None:
    runs = build_runs(tmp_path / "runs", calibration=False)
    pristine = tmp_path / "pristine"
    shutil.copytree(runs, pristine)
    first = _decide_and_report(runs)
    assert _decide_and_report(runs) == first  # again over the unchanged archive
    shutil.rmtree(runs)
    shutil.copytree(pristine, runs)  # the same archive from nothing, at another moment
    assert _decide_and_report(runs) == first


def test_the_page_is_stamped_with_the_archives_newest_run(tmp_path: Path) -> None:
    runs = build_runs(tmp_path / "runs")
    data = collect(runs)
    assert data.generated_at == "2026-01-11T10:00:00.000Z"  # RUN_B's created_at
    assert "generated 2026-01-11T10:00:00.000Z" in (build_report(runs).html_path.read_text())
