"""JSON and CSV exports round-trip the collected data."""

from __future__ import annotations

import csv
from pathlib import Path

import msgspec
import pytest

from dashboard.collect import collect
from dashboard.export import tables, to_csv, write_exports
from dashboard.model import DashboardData
from tests.dashboard.fixture_runs import ALPHA, BETA, HOSTILE, build_runs


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    return build_runs(tmp_path / "runs")


def test_json_export_decodes_into_the_same_data(runs: Path) -> None:
    data = collect(runs)
    paths = write_exports(data, runs)
    assert paths[0] == runs / "exports" / "dashboard.json"
    again = msgspec.json.decode(paths[0].read_bytes(), type=DashboardData)
    assert again == data


def test_every_table_is_a_csv_that_reads_back(runs: Path) -> None:
    data = collect(runs)
    write_exports(data, runs)
    for stem, (header, rows) in tables(data).items():
        with (runs / "exports" / f"{stem}.csv").open(newline="") as fh:
            read = list(csv.reader(fh))
        assert read[0] == header, stem
        assert len(read) == len(rows) + 1, stem
        assert read[1:] == list(csv.reader(to_csv(header, rows).splitlines()))[1:], stem


def test_csv_values_are_raw_numbers(runs: Path) -> None:
    write_exports(collect(runs), runs)
    with (runs / "exports" / "models.csv").open(newline="") as fh:
        models = {row["model"]: row for row in csv.DictReader(fh)}
    assert set(models) == {ALPHA, BETA, HOSTILE}  # the hostile name round-trips verbatim
    assert float(models[ALPHA]["success_rate"]) == pytest.approx(0.96)
    assert models[ALPHA]["calls"] == "25"
    with (runs / "exports" / "long_context.csv").open(newline="") as fh:
        overflow = [r for r in csv.DictReader(fh) if r["model"] == BETA and r["label"] == "32k"]
    assert overflow[0]["context_overflow"] == "1" and overflow[0]["adherence"] == ""
    with (runs / "exports" / "rankings.csv").open(newline="") as fh:
        ranks = list(csv.DictReader(fh))
    assert [(r["table"], r["scope"]) for r in ranks] == [("overall", "overall")] * 3 + [
        ("category", "coding"), ("category", "json")]
    assert ranks[0]["tied_with"] == BETA


def test_exports_hold_no_outputs(runs: Path) -> None:
    for path in write_exports(collect(runs), runs):
        text = path.read_text()
        assert "SECRET-OUTPUT-TEXT" not in text and "SECRET-ERROR-MESSAGE" not in text, path.name


def test_empty_tables_still_get_a_header(tmp_path: Path) -> None:
    runs = build_runs(tmp_path / "runs", calibration=False)
    write_exports(collect(runs), runs)
    assert (runs / "exports" / "rankings.csv").read_text() == (
        "table,scope,rank,model,mean,ci_low,ci_high,n,answers,outranks,tied_with\n")
