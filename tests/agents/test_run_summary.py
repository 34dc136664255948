"""A run's summary.md, written from a streamed fold of its results: the same text as the
summary rendered from every record in memory, its artifacts, and a corrupt line named."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from agents.phase_agent import PhaseReport
from agents.phases import section_hooks
from agents.run_summary import write_run_summary
from archive.stats_md import render_run_summary
from archive.store import RunStore
from harness.errors import InputError
from harness.records import CallRecord
from tests.section_records import records_for

PHASES = ["baseline", "long-context", "streaming-ttft", "tool-use", "stages", "calibration", "judge-bench"]


def _records() -> list[CallRecord]:
    out = [r for phase in PHASES for r in records_for(phase, n=40, seed=11)]
    return [msgspec.structs.replace(r, run_id="r1", schedule_lag_ms=float(i % 7)) for i, r in enumerate(out)]


def _winners(records: list[CallRecord]) -> list[CallRecord]:
    """The latest record per key, at its own place: what the archive counts (records_for
    repeats some keys, as a damaged file could)."""
    last = {r.key: i for i, r in enumerate(records)}
    return [r for i, r in enumerate(records) if last[r.key] == i]


def _run(tmp_path: Path, records: list[CallRecord]):  # type: ignore[no-untyped-def]
    store = RunStore(tmp_path / "runs")
    run = store.create("r1", {"run_id": "r1", "created_at": "2026-03-01T10:00:00.000Z", "status": "running",
                              "phases": PHASES, "models": [], "suites": ["s"]})
    run.append_records(records)
    return run


def test_the_streamed_summary_is_the_in_memory_one(tmp_path: Path) -> None:
    records = _records()
    run = _run(tmp_path, records)
    path, notes = write_run_summary(run, "completed", reports=[PhaseReport(phase="baseline", worker="w",
                                                                           loop_lag_p95_ms=1.0)])
    manifest = run.read_manifest()
    winners = _winners(records)
    assert len(winners) < len(records)
    expected = render_run_summary({**manifest, "status": "completed"}, winners, sections=section_hooks())
    text = path.read_text()
    assert text.startswith(expected.rstrip("\n")) and notes == []
    assert "## Client health" in text  # from the lags alone
    assert manifest["records"] == len(winners) and manifest["status"] == "completed"
    assert "ttft_distribution.png" in manifest["artifacts"]  # a phase's records, read for its plot
    assert manifest["client"]["baseline"]["schedule_lag_p95_ms"] is not None


def test_a_torn_final_line_is_skipped_and_a_corrupt_one_named(tmp_path: Path) -> None:
    records = _records()
    run = _run(tmp_path, records)
    with open(run.results_path, "ab") as fh:
        fh.write(b'{"phase": "baseline", "item_')
    write_run_summary(run, "completed")
    assert run.read_manifest()["records"] == len(_winners(records))
    lines = run.results_path.read_bytes().split(b"\n")
    lines[5] = b'{"phase": broken'
    run.results_path.write_bytes(b"\n".join(lines))
    with pytest.raises(InputError, match=r"results\.jsonl:6"):
        write_run_summary(run, "completed")
