"""Run an open-loop rate sweep: one archived run per offered rate, on one Ray instance,
stopping at the first rate where the endpoint saturates (agents/rate_sweep.py's rules).

Why one run per rate: each step is then an ordinary run (archived, resumable, in the
aggregate) with its own client-health verdict, and the sweep is the table of them.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from pathlib import Path

import ray

from agents.rate_sweep import SweepStep, measure_step, saturation_reason
from agents.run_setup import RunSpec, prepare_run
from archive.store import RunStore
from cluster.driver import run
from cluster.ray_runtime import ensure_ray
from cluster.run_watch import RunProgress, RunResult
from harness.errors import InputError


def run_rate_sweep(spec: RunSpec, rates: Sequence[float], *, seconds: float, runs_dir: Path,
                   address: str | None = None, progress: RunProgress | None = None,
                   argv: Sequence[str] | None = None) -> list[tuple[RunResult, SweepStep]]:
    """Each step offers about `seconds` worth of calls at its rate (the plan repeated)."""
    if seconds <= 0:
        raise InputError("--sweep-seconds", "must be positive")
    base = prepare_run(spec).total_items
    if base == 0:
        raise InputError("--rate-sweep", "the run plans no calls")
    started = ensure_ray(address)
    steps: list[tuple[RunResult, SweepStep]] = []
    try:
        for rate in rates:
            step_spec = copy.deepcopy(spec)
            step_spec.options = {**spec.options, "rate": rate}
            step_spec.repeat = max(1, math.ceil(rate * seconds / base)) * (spec.repeat or 1)
            result = run(step_spec, runs_dir=runs_dir, address=address, progress=progress, argv=argv)
            run_dir = RunStore(runs_dir).find(result.run_id)
            health = run_dir.read_manifest().get("client") or {}
            client_bound = any(bool(h.get("client_bound")) for h in health.values())
            step = measure_step(result.run_id, rate, run_dir.load_records(), client_bound)
            steps.append((result, step))
            if result.status != "completed" or saturation_reason(step, steps[0][1]):
                break
    finally:
        if started:
            ray.shutdown()
    return steps
