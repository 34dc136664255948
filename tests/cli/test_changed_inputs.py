"""`--resume` and `fleetbench retry` refuse, exit 2 and name the field, when the suite or
the config changed since the run started; `--allow-changed-inputs` goes on anyway."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from suites import SUITES_DIR
from tests.cluster.helpers import cli, sim_and_fleet_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def test_resume_and_retry_refuse_changed_inputs(tmp_path: Path) -> None:
    config = sim_and_fleet_config(tmp_path, brain={"ttft_ms": 5, "itl_ms": 1, "output_tokens": 3},
                                  faults=[{"kind": "server_error", "model": "b", "rate": 1.0}])
    suite = tmp_path / "mine.yaml"
    shutil.copy(SUITES_DIR / "smoke.yaml", suite)
    runs = tmp_path / "runs"
    first = cli("run", str(suite), "--phase", "baseline", "--models", "sim/a,sim/b", "--limit", "1",
                "--config", str(config), "--runs-dir", str(runs), "--run-id", "base")
    assert first.returncode == 0, first.stderr

    suite.write_text(suite.read_text() + "\n# an edit after the run started\n")
    resumed = cli("run", "--resume", "base", "--runs-dir", str(runs))
    assert resumed.returncode == 2 and "suites[smoke].sha256" in resumed.stderr, resumed.stderr
    retried = cli("retry", "base", "--runs-dir", str(runs))
    assert retried.returncode == 2 and "suites[smoke].sha256" in retried.stderr, retried.stderr
    forced = cli("run", "--resume", "base", "--runs-dir", str(runs), "--allow-changed-inputs")
    assert forced.returncode == 0, forced.stderr

    data = yaml.safe_load(config.read_text())
    data["retry"]["max_attempts"] = 2
    config.write_text(yaml.safe_dump(data))
    shutil.copy(SUITES_DIR / "smoke.yaml", suite)
    retried = cli("retry", "base", "--runs-dir", str(runs))
    assert retried.returncode == 2 and "config.retry.max_attempts" in retried.stderr, retried.stderr
    assert len(list(runs.glob("*/*/manifest.json"))) == 1  # nothing was written by the refusals
