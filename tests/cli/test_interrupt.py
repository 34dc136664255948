"""Ctrl-C: a real SIGINT to the CLI's whole process group (what a terminal sends) stops the
run cleanly: results so far on stdout, the exact resume command on stderr, exit 130, the
manifest `interrupted`, no failure recorded for calls the interrupt cut; the printed command,
run as printed, completes the run without duplicates."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cluster.helpers import cli, run_records, sim_and_fleet_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def test_ctrl_c_prints_the_resume_command_and_it_completes_the_run(tmp_path: Path) -> None:
    config = sim_and_fleet_config(tmp_path, brain={"ttft_ms": 400, "itl_ms": 5, "output_tokens": 4},
                                  concurrency=2)
    runs = tmp_path / "my runs"  # a space: the printed command must quote it
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "run", "smoke", "--phase", "baseline", "--models", "sim/a,sim/b",
         "--repeat", "5", "--config", str(config), "--runs-dir", str(runs), "--no-calibrate"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    deadline = time.monotonic() + 120
    results: Path | None = None
    while time.monotonic() < deadline and proc.poll() is None:
        found = list(runs.glob("*/*/results.jsonl"))
        if found and len(found[0].read_bytes().splitlines()) >= 3:
            results = found[0]
            break
        time.sleep(0.1)
    assert results is not None, proc.communicate()[1][-3000:]
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)

    run_id = results.parent.name
    assert proc.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    resume_lines = [line for line in stderr.splitlines() if "resume with `fleetbench" in line]
    command = resume_lines[-1].split("`")[1]
    assert command == shlex.join(["fleetbench", "run", "--resume", run_id, "--runs-dir", str(runs)])
    assert f"run {run_id} (interrupted)" in stdout and f"archive: {results.parent}" in stdout
    manifest = json.loads((results.parent / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    partial = run_records(runs, run_id)
    assert 3 <= len(partial) < 30
    assert all(r.status == "ok" for r in partial), [(r.status, r.error_message) for r in partial]

    argv = shlex.split(command)
    assert argv[0] == "fleetbench"
    resumed = cli(*argv[1:])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    records = run_records(runs, run_id)
    assert len(records) == len({r.key for r in records}) == 3 * 2 * 5
    assert all(r.status == "ok" for r in records)
    assert json.loads((results.parent / "manifest.json").read_text())["status"] == "completed"
