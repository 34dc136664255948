"""`fleetbench run --rate` and `--rate-sweep` as a user runs them: an open-loop run with its
send lag recorded and its client health stated, and a sweep that names where the
simulated endpoint saturates. Bad values exit 2 naming the flag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archive.store import RunStore
from tests.cluster.helpers import cli, sim_and_fleet_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.mark.parametrize("args,flag", [(["--rate", "-2"], "--rate"), (["--rate", "5", "--arrivals", "bursty"], "--arrivals"),
                                       (["--arrivals", "poisson"], "--arrivals"), (["--rate-sweep", "8,4"], "--rate-sweep")])
def test_bad_load_options_exit_2_naming_the_flag(tmp_path: Path, args: list[str], flag: str) -> None:
    runs = tmp_path / "runs"
    done = cli("run", "smoke", "--phase", "baseline", "--models", "sim/a", "--runs-dir", str(runs), *args)
    assert done.returncode == 2, done.stderr
    assert flag in done.stderr and "Traceback" not in done.stderr
    assert not runs.exists() or not any(runs.iterdir())


def test_open_loop_run_records_send_lag_and_client_health(tmp_path: Path) -> None:
    config = sim_and_fleet_config(tmp_path, brain={"ttft_ms": 10, "itl_ms": 1, "output_tokens": 3})
    runs = tmp_path / "runs"
    done = cli("run", "smoke", "--phase", "baseline", "--models", "sim/a", "--repeat", "5", "--rate", "20",
               "--arrivals", "poisson", "--seed", "3", "--config", str(config), "--runs-dir", str(runs))
    assert done.returncode == 0, done.stderr
    run = RunStore(runs).list_runs()[0]
    records = run.load_records()
    assert len(records) == 15 and all(r.schedule_lag_ms is not None for r in records)
    manifest = run.read_manifest()
    health = manifest["client"]["baseline"]
    assert health["open_loop"] is True and "client_bound" in health
    assert manifest["request"]["options"]["rate"] == 20.0
    assert "## Client health" in run.summary_path.read_text()


def test_rate_sweep_names_where_the_endpoint_saturates(tmp_path: Path) -> None:
    # one call at a time, 100 ms each: the endpoint does about 10 calls/s
    config = sim_and_fleet_config(tmp_path, brain={"ttft_ms": 90, "itl_ms": 5, "output_tokens": 3},
                                  limits={"max_concurrent": 1})
    runs = tmp_path / "runs"
    done = cli("run", "smoke", "--phase", "baseline", "--models", "sim/a", "--rate-sweep", "2,40",
               "--sweep-seconds", "1.5", "--config", str(config), "--runs-dir", str(runs), timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Sweep: saturates at 40/s" in done.stdout, done.stdout
    assert "the bottleneck is" in done.stdout  # endpoint or client: that rule is tested in tests/agents
    runs_made = RunStore(runs).list_runs()
    assert len(runs_made) == 2
    rates = sorted(json.loads((r.path / "manifest.json").read_text())["request"]["options"]["rate"] for r in runs_made)
    assert rates == [2.0, 40.0]
