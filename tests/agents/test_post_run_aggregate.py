"""`fleetbench aggregate` (post_run without calibrating) writes the same bytes for the same
archive, every phase section included, and reads only what changed."""

from __future__ import annotations

import time
from pathlib import Path

from agents.config import FleetConfig
from agents.post_run import post_run
from archive.aggregate import AGGREGATE_JSON, AGGREGATE_MD
from archive.store import RunStore
from tests.section_records import CASES, records_for


def test_post_run_aggregate_twice_gives_identical_files(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    store = RunStore(runs)
    for day, phase in enumerate(sorted(CASES), start=1):
        run_id = f"run-{day:02d}"
        run = store.create(run_id, {"run_id": run_id, "created_at": f"2026-04-{day:02d}T08:00:00.000Z",
                                    "status": "completed"})
        run.append_records(records_for(phase, n=30, run_id=run_id))
    assert post_run(runs, FleetConfig(), calibrate_now=False) == []
    first = {name: (runs / name).read_bytes() for name in (AGGREGATE_JSON, AGGREGATE_MD)}
    time.sleep(0.01)  # a clock-stamped file would differ now
    post_run(runs, FleetConfig(), calibrate_now=False)
    assert {name: (runs / name).read_bytes() for name in first} == first
    text = first[AGGREGATE_MD].decode()
    assert all(f"## Phase `{phase}`" in text for phase in CASES)
    assert "**Tool-use tier**" in text and "Recommended defaults" in text  # the phases' own sections
