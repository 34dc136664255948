"""How long after `fleetbench run` starts does its first request reach the provider?

    .venv/bin/python benchmarks/startup.py [--runs 5]

The simulator runs as its own process (`fleetbench sim serve`), so its arrival stamps are
not delayed by the run it measures; both stamp CLOCK_MONOTONIC, so "first arrival minus
the moment just before the CLI process was started" is the start-up, as a user feels it:
Python's imports, the input checks, Ray's start, the actors' start, the adapter's warm-up
and the first allowance. Prints each run's figure and the median; the target is <= 4 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from simulator.client import fetch_truths

ROOT = Path(__file__).resolve().parent.parent


def _serve(tmp: Path) -> tuple[subprocess.Popen[str], str]:
    sim = tmp / "sim.yaml"
    sim.write_text(yaml.safe_dump({"default_brain": {"ttft_ms": 5, "itl_ms": 1, "output_tokens": 3}}))
    proc = subprocess.Popen([sys.executable, "-m", "cli", "sim", "serve", "--config", str(sim), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("SIM_URL="):
        proc.kill()
        raise SystemExit(f"the simulator did not start: {line!r}")
    return proc, line.split("=", 1)[1]


def one_run(tmp: Path, url: str, index: int) -> float:
    config = tmp / "fleet.yaml"
    config.write_text(yaml.safe_dump({"providers": {"sim": {"base_url": url + "/v1"}}}))
    runs = tmp / f"runs-{index}"
    before = {t["request_id"] for t in fetch_truths(url)}
    t0 = time.monotonic_ns()
    done = subprocess.run([sys.executable, "-m", "cli", "run", "smoke", "--phase", "baseline", "--models", "sim/a",
                           "--limit", "1", "--config", str(config), "--runs-dir", str(runs)],
                          check=False, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    if done.returncode != 0:
        raise SystemExit(f"run failed: {done.stderr[-2000:]}")
    fresh = [t for t in fetch_truths(url) if t["request_id"] not in before]
    return (min(int(t["arrival_ns"]) for t in fresh) - t0) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        proc, url = _serve(tmp)
        try:
            figures = [one_run(tmp, url, i) for i in range(args.runs)]
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    for i, s in enumerate(figures):
        print(f"run {i + 1}: first request {s:.2f} s after the CLI started")
    print(f"median {statistics.median(figures):.2f} s over {len(figures)} runs (target <= 4 s); load "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
