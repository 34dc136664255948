"""The results always reach stdout: the CLI in its own process, stdout redirected to a file,
stdin an open pipe nobody writes to, no terminal anywhere (as from a background shell). The
file holds the run's table, every phase's section and the archive path, and nothing else;
stderr stays short and free of third-party start-up noise."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agents.phases import DEFAULT_ORDER
from tests.cluster.helpers import sim_and_fleet_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]

NOISE = ("Token authentication", "llama_", "ggml_", "INFO worker.py", "(PhaseSubagent", "Traceback")


def test_default_plan_results_go_to_a_redirected_stdout(tmp_path: Path) -> None:
    config = sim_and_fleet_config(tmp_path, brain={"ttft_ms": 5, "itl_ms": 1, "output_tokens": 4})
    runs = tmp_path / "runs"
    out_path, err_path = tmp_path / "out.txt", tmp_path / "err.txt"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "cli", "run", "--models", "sim/a,sim/b", "--config", str(config),
                                 "--runs-dir", str(runs), "--no-calibrate"],
                                stdin=subprocess.PIPE, stdout=out, stderr=err, env={**env, "RAY_USAGE_STATS_ENABLED": "0"},
                                start_new_session=True)
        try:
            code = proc.wait(timeout=280)
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
    stdout, stderr = out_path.read_text(), err_path.read_text()
    assert code == 0, stderr[-3000:]

    run_dir = next(runs.glob("*/*/manifest.json")).parent
    assert re.search(rf"run {run_dir.name} \(completed\)", stdout), stdout[:2000]
    table = stdout.split("\n")
    for phase in DEFAULT_ORDER:  # a row per phase in the table and its own section
        assert any(line.startswith(("│ " + phase, "┃ " + phase)) for line in table), phase
    sections = {line.strip() for line in table}
    assert {"codex-retry", "claude-runs", "long-context", "tool-use", "streaming-ttft"} <= sections
    assert f"archive: {run_dir}" in stdout and f"summary: {run_dir / 'summary.md'}" in stdout
    assert "progress [" not in stdout and '"event"' not in stdout  # progress and logs never go to stdout

    lines = stderr.splitlines()
    assert len(lines) < 30, stderr
    assert not [line for line in lines if any(n in line for n in NOISE)], stderr
    assert lines[-1].startswith("done [") or any(line.startswith("done [") for line in lines), stderr
