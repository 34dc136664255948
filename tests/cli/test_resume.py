"""The real CLI in its own process: kill the driver mid-run, `--resume` completes the run
with no duplicates; then browse the archive and aggregate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cluster.helpers import cli, run_records, sim_and_fleet_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _lines(path: Path) -> int:
    return len(path.read_bytes().splitlines()) if path.exists() else 0


def test_driver_killed_then_resume_completes_without_duplicates(tmp_path: Path) -> None:
    config = sim_and_fleet_config(tmp_path, brain={"ttft_ms": 150, "itl_ms": 5, "output_tokens": 4},
                                  concurrency=2)
    runs = tmp_path / "runs"
    args = [sys.executable, "-m", "cli", "run", "smoke", "--phase", "baseline", "--models", "sim/a,sim/b", "--repeat", "5",
            "--config", str(config), "--runs-dir", str(runs), "--run-id", "killme"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    deadline = time.monotonic() + 90
    results = None
    while time.monotonic() < deadline:
        found = list(runs.glob("*/killme/results.jsonl"))
        if found and _lines(found[0]) >= 3:
            results = found[0]
            break
        time.sleep(0.1)
    assert results is not None, proc.stderr.read().decode() if proc.poll() is not None else "no progress"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = _lines(results)
    assert 3 <= partial < 30
    manifest = json.loads((results.parent / "manifest.json").read_text())
    assert manifest["status"] == "running"

    resumed = cli("run", "--resume", "killme", "--runs-dir", str(runs))
    assert resumed.returncode == 0, resumed.stderr
    records = run_records(runs, "killme")
    assert len(records) == len({r.key for r in records}) == 3 * 2 * 5
    assert json.loads((results.parent / "manifest.json").read_text())["status"] == "completed"

    listed = cli("runs", "list", "--runs-dir", str(runs))
    assert listed.returncode == 0 and "killme" in listed.stdout
    shown = cli("runs", "show", "killme", "--runs-dir", str(runs))
    assert shown.returncode == 0 and "sim/a" in shown.stdout and "baseline" in shown.stdout
    agg = cli("aggregate", "--runs-dir", str(runs))
    assert agg.returncode == 0
    summary = (runs / "AGGREGATE_SUMMARY.md").read_text()
    assert "sim/a" in summary and "sim/b" in summary
