"""After every run the collector merges the aggregate (with each phase's own section) and
calibrates: rankings, routing weights, selection and their sections; --no-calibrate skips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents.run_setup import RunSpec
from cli.app import app
from cluster.driver import run
from tests.cluster.helpers import sim_and_fleet_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def test_run_then_aggregate_calibrate_and_select(ray_local: None, tmp_path: Path) -> None:
    config = sim_and_fleet_config(tmp_path, brain={"ttft_ms": 2, "itl_ms": 1, "output_tokens": 4,
                                                   "output": {"kind": "text", "text": "ok"}})
    runs = tmp_path / "runs"
    first = run(RunSpec(suites=["smoke"], phases=["baseline", "tool-use"], models=["sim/a", "sim/b"],
                        config_path=config, limit=2, options={"variants": "baseline"}), runs_dir=runs)
    assert first.status == "completed"
    weights = json.loads((runs / "routing_weights.json").read_text())
    assert weights["version"] == 1 and weights["seen_runs"] == [first.run_id]
    assert {"sim/a", "sim/b"} <= set(weights["weights"])
    rankings = json.loads((runs / "rankings.json").read_text())
    assert {r["model"] for r in rankings["overall"]} == {"sim/a", "sim/b"}
    assert (runs / "selection.json").is_file()
    summary = (runs / "AGGREGATE_SUMMARY.md").read_text()
    assert "**Tool-use failure modes**" in summary and "**Tool-use tier**" in summary  # phase section
    assert "## Rankings" in summary and "## Routing weights" in summary and "## Model selection" in summary

    second = run(RunSpec(suites=["smoke"], phases=["baseline"], models=["sim/a"], config_path=config, limit=1,
                         options={"calibrate": False}), runs_dir=runs)
    after = json.loads((runs / "routing_weights.json").read_text())
    assert second.run_id not in after["seen_runs"]  # told not to calibrate
    result = CliRunner().invoke(app, ["calibrate", "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    assert second.run_id in json.loads((runs / "routing_weights.json").read_text())["seen_runs"]
