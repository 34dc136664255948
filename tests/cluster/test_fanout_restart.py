"""A fan-out worker killed mid-run: the driver stops its whole generation (parent and live
siblings) before handing their allowances back, so the next generation never runs a key
at the same time as the old one, and the simulator's concurrency limit is never exceeded."""

from __future__ import annotations

import itertools
import os
import signal
import time
from pathlib import Path

import pytest
import ray

from agents.run_setup import RunSpec
from cluster.driver import RunSession
from cluster.phase_actor import worker_handle
from tests.cluster.helpers import run_records, run_watched, sim_and_fleet_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]
MODELS = [f"sim/k{i:02d}" for i in range(18)]  # one item each: a key is its model at the simulator


def test_killing_a_fanout_worker_stops_its_generation_first(ray_local: None, tmp_path: Path) -> None:
    config = sim_and_fleet_config(tmp_path, brain={"ttft_ms": 150, "itl_ms": 5, "output_tokens": 4},
                                  limits={"max_concurrent": 4}, concurrency=2, workers=3)
    spec = RunSpec(suites=["smoke"], phases=["baseline"], models=MODELS, limit=1, config_path=config)
    runs = tmp_path / "runs"

    def kill_a_worker(session: RunSession) -> None:
        deadline = time.monotonic() + 300  # worker actors start slowly on a busy 2-core machine
        victim = None
        while time.monotonic() < deadline and victim is None:
            victim = worker_handle(session.run_id, "baseline", 0, 1)
            time.sleep(0.05)
        assert victim is not None
        pid = ray.get(victim.pid.remote())
        while sum(c["ok"] for c in session.counts().values()) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(pid, signal.SIGKILL)

    result, truths = run_watched(RunSession(spec, runs_dir=runs, progress=False), during=kill_a_worker)

    records = run_records(runs, result.run_id)
    assert sorted(r.model for r in records) == sorted(MODELS) and all(r.status == "ok" for r in records)
    assert result.status == "completed" and result.restarts.get("baseline", 0) >= 1
    assert [t for t in truths if t.status == 429] == []  # the simulator's limit of 4 was never exceeded
    by_model: dict[str, list[tuple[int, int]]] = {}
    for t in truths:
        by_model.setdefault(t.model, []).append((t.arrival_ns, t.end_ns or t.arrival_ns))
    for model, spans in by_model.items():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end, f"{model} ran in two generations at once"
    # only calls in flight or not yet acknowledged at the kill are sent again
    assert len(truths) <= len(MODELS) + 3 * (2 + 2)
