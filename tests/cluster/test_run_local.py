"""End to end on a real local Ray: driver -> phase subagent -> limiter -> simulator -> collector."""

from __future__ import annotations

import json
import os
import signal
import statistics
import time
from pathlib import Path

import pytest
import ray

from agents.run_setup import RunSpec
from cluster.driver import RunSession, run
from tests.cluster.helpers import run_records, sim_and_fleet_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]
MODELS = ["sim/smollm2-135m-sim", "sim/gemma3-270m-sim"]


def test_run_archives_exactly_one_record_per_key(ray_local: None, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    session = RunSession(RunSpec(suites=["smoke"], phases=["baseline"], models=MODELS, repeat=2), runs_dir=runs)
    try:
        session.spawn("baseline")
        result = session.wait()
        assert session.sim is not None
        truths = {t.request_id: t for t in session.sim.truths()}
    finally:
        session.close()

    records = run_records(runs, result.run_id)
    keys = [r.key for r in records]
    assert len(keys) == len(set(keys)) == 3 * 2 * 2
    assert all(r.status == "ok" for r in records), [r.error_message for r in records if r.status != "ok"]
    assert result.run_dir.parent.parent == runs and result.run_dir.parent.name == time.strftime("%Y-%m-%d", time.gmtime())
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["models"] == MODELS
    assert manifest["suites"][0]["sha256"] and manifest["versions"]["ray"]
    events = [json.loads(line)["event"] for line in (result.run_dir / "events.jsonl").read_text().splitlines()]
    assert events[0] == "collector_started" and "phase_finished" in events and events[-1] == "run_finalized", events
    assert (result.run_dir / "summary.md").read_text().count("sim/") >= 2
    assert (runs / "AGGREGATE_SUMMARY.md").exists() and (runs / "aggregate.json").exists()
    # measured TTFT is never below the simulator's ground truth, and near it: bounds that a
    # 2-core machine with a CPU hog on both cores still holds (there the median was 55-87 ms);
    # the precise figures are the side-by-side benchmark's (benchmarks/side_by_side.py)
    errors = []
    for record in records:
        truth = truths[record.request_id]
        truth_ttft = (truth.first_content_ns - truth.arrival_ns) / 1e6
        assert record.ttft_ms is not None and record.ttft_ms >= truth_ttft
        errors.append(record.ttft_ms - truth_ttft)
        assert record.client_overhead_ms is not None and record.client_overhead_ms >= 0
        assert record.output and record.output_tokens and record.input_tokens
    assert statistics.median(errors) < 250.0 and max(errors) < 2000.0, errors


def test_sigkill_of_phase_subagent_still_one_record_per_key(ray_local: None, tmp_path: Path) -> None:
    config = sim_and_fleet_config(tmp_path, brain={"ttft_ms": 120, "itl_ms": 5, "output_tokens": 4},
                                  concurrency=2)
    spec = RunSpec(suites=["smoke"], phases=["baseline"], models=["sim/a", "sim/b", "sim/c"], repeat=4, config_path=config)
    runs = tmp_path / "runs"
    session = RunSession(spec, runs_dir=runs)
    try:
        session.spawn("baseline")
        pid = ray.get(session.phase_actor("baseline").pid.remote())
        deadline = time.monotonic() + 30
        while sum(c["ok"] for c in session.counts().values()) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        result = session.wait()
    finally:
        session.close()
    records = run_records(runs, result.run_id)
    keys = [r.key for r in records]
    assert len(keys) == len(set(keys)) == 3 * 3 * 4
    assert all(r.status == "ok" for r in records)
    assert result.restarts.get("baseline", 0) >= 1
    assert len({r.worker for r in records}) >= 2  # the first and the restarted subagent both wrote


def test_run_function_refuses_existing_run_id(ray_local: None, tmp_path: Path) -> None:
    from harness.errors import InputError

    runs = tmp_path / "runs"
    result = run(RunSpec(suites=["smoke"], phases=["baseline"], models=MODELS[:1], limit=1), runs_dir=runs, run_id="fixed-id")
    assert result.status == "completed"
    with pytest.raises(InputError, match="already exists"):
        run(RunSpec(suites=["smoke"], phases=["baseline"], models=MODELS[:1], limit=1), runs_dir=runs, run_id="fixed-id")
