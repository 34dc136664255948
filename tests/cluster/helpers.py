"""Shared helpers for cluster tests: config files in tmp dirs, CLI runs, archive reads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from archive.store import RunStore
from harness.records import CallRecord


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def sim_and_fleet_config(tmp_path: Path, *, brain: dict[str, Any] | None = None,
                         limits: dict[str, Any] | None = None, concurrency: int = 4,
                         workers: int = 1, faults: list[dict[str, Any]] | None = None) -> Path:
    sim = write_yaml(tmp_path / "sim.yaml", {
        "default_brain": brain or {"ttft_ms": 20, "itl_ms": 2, "output_tokens": 6},
        "limits": limits or {},
        "faults": faults or [],
    })
    return write_yaml(tmp_path / "fleet.yaml", {
        "simulator": str(sim), "concurrency": concurrency, "workers_per_phase": workers,
        "retry": {"base_delay_s": 0.05, "max_delay_s": 0.5, "deadline_s": 60},
    })


def run_records(runs_dir: Path, run_id: str) -> list[CallRecord]:
    return RunStore(runs_dir).find(run_id).load_records()


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 180,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", **(env or {})}
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, check=False,
                          env=full_env, timeout=timeout, cwd=cwd)


def run_watched(session: Any, phase: str = "baseline", during: Any = None) -> tuple[Any, list[Any]]:
    """Spawn `phase`, call `during(session)` while it runs (to inject a fault), wait, and
    return the result with the simulator's ground truth; the session is always closed."""
    try:
        session.spawn(phase)
        if during is not None:
            during(session)
        result = session.wait()
        truths = session.sim.truths() if session.sim is not None else []
    finally:
        session.close()
    return result, truths
