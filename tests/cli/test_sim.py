"""`fleetbench sim serve`: the simulator as a standalone service, reachable over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys

from simulator.client import fetch_truths, health


def test_sim_serve_prints_url_and_serves() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "cli", "sim", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("SIM_URL=http://127.0.0.1:")
        url = line.split("=", 1)[1]
        assert health(url)
        assert fetch_truths(url) == []
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
