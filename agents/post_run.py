"""After a run: aggregate the archive, calibrate, select, and write the decision sections.

Why here and why it never raises for calibration: the collector calls this after every run
(it owns the archive), and `fleetbench aggregate` calls it on demand; a damaged calibration
file or benchmark table must cost a note in the log, not the run's aggregate.
"""

from __future__ import annotations

from pathlib import Path

from agents.config import FleetConfig
from agents.phases import section_states
from archive.aggregate import aggregate
from archive.store import RunStore
from calibration.calibrate import calibrate
from calibration.decisions_md import decision_sections
from calibration.select_run import write_selection
from harness.errors import InputError


def post_run(runs_dir: Path, config: FleetConfig, *, calibrate_now: bool) -> list[str]:
    """Returns notes on what could not be done (empty when all went well)."""
    notes: list[str] = []
    if calibrate_now:
        try:
            calibrate(runs_dir, config.calibration)
        except (InputError, OSError, ValueError) as exc:
            notes.append(f"calibrate failed: {exc}")

    def extras() -> list[str]:
        if calibrate_now:
            try:
                write_selection(runs_dir, config.calibration.selection)
            except (InputError, OSError, ValueError) as exc:
                notes.append(f"select failed: {exc}")
        return decision_sections(runs_dir, [run.path for run in RunStore(runs_dir).list_runs()])

    aggregate(runs_dir, section_states(config), extra_sections=extras)
    return notes
