"""Compute and write `<runs-dir>/selection.json` from the archive's measurements.

Why its own module: `fleetbench select` and the collector (after every run) must produce
the same file the same way. Why stamped with the archive's newest run and not the clock:
the same archive must give the same bytes (the aggregate summary quotes this stamp).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from archive.store import atomic_write_bytes
from calibration.benchmarks_data import DEFAULT_BENCHMARKS, load_benchmarks
from calibration.decisions_md import read_struct
from calibration.gather import archive_time
from calibration.schema import RANKINGS_JSON, SELECTION_JSON, Rankings, Selection
from calibration.selection import measured_by_model, select
from calibration.settings import SelectionSettings
from harness.errors import InputError


def measured_outcomes(runs_dir: Path) -> dict[str, tuple[int, int, int]]:
    """(ok, error, skipped) per model over every phase of `aggregate.json`, if present."""
    try:
        data: dict[str, Any] = json.loads((runs_dir / "aggregate.json").read_text())
    except (OSError, ValueError):
        return {}
    out: dict[str, tuple[int, int, int]] = {}
    for row in data.get("overall", []):
        ok, err, skip = out.get(row["model"], (0, 0, 0))
        out[row["model"]] = (ok + int(row.get("ok", 0)), err + int(row.get("error", 0)),
                             skip + int(row.get("skipped", 0)))
    return out


def write_selection(runs_dir: Path, settings: SelectionSettings, benchmarks: Path | None = None, *,
                    default_cap: float | None = None, max_cap: float | None = None) -> Selection:
    if not runs_dir.is_dir():
        raise InputError(str(runs_dir), "no such run archive directory")
    path = benchmarks or DEFAULT_BENCHMARKS
    measured = measured_by_model(read_struct(runs_dir / RANKINGS_JSON, Rankings), measured_outcomes(runs_dir))
    selection = select(load_benchmarks(path), measured, settings, benchmarks_file=str(path), now=archive_time(runs_dir),
                       default_cap=default_cap, max_cap=max_cap)
    atomic_write_bytes(runs_dir / SELECTION_JSON, msgspec.json.format(msgspec.json.encode(selection), indent=2) + b"\n")
    return selection
