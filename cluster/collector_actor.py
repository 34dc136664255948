"""The collector: the only writer of a run's archive, pinned to the driver's node.

Why one writer: exactly one terminal record per key is easiest to guarantee where every
record passes through one process that dedups by key and fsyncs before acknowledging.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import ray

from agents.config import FleetConfig, load_config
from agents.phases import make_phase
from agents.post_run import post_run
from archive.store import RunDir
from archive.summary_md import render_run_summary
from harness.errors import InputError
from harness.logs import EventLog
from harness.records import CallRecord, RecordKey
from harness.redact import default_redactor


@ray.remote(num_cpus=0, max_concurrency=1)  # type: ignore[call-overload]
class Collector:
    """Serial actor (max_concurrency=1): appends never interleave."""

    def __init__(self, run_path: str, run_id: str) -> None:
        self._run = RunDir(Path(run_path), run_id)
        dropped = self._run.repair_results()
        self._records: list[CallRecord] = self._run.load_records()
        self._keys: set[RecordKey] = {r.key for r in self._records}
        self._events = EventLog(self._run.events_path, redact=default_redactor().redact)
        self._duplicates = 0
        self._events.emit("collector_started", run_id=run_id, existing_records=len(self._records),
                          torn_bytes_dropped=dropped)

    def add(self, records: list[CallRecord]) -> int:
        """Persist new keys (fsync'd) before returning; duplicates are dropped and counted."""
        fresh: list[CallRecord] = []
        for record in records:
            if record.key in self._keys:
                self._duplicates += 1
                continue
            self._keys.add(record.key)
            fresh.append(record)
        if fresh:
            self._run.append_records(fresh)
            self._records.extend(fresh)
            statuses = Counter(r.status for r in fresh)
            self._events.emit("records_written", count=len(fresh), **dict(statuses))
        return len(fresh)

    def done_keys(self) -> list[RecordKey]:
        return list(self._keys)

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for r in self._records:
            phase = out.setdefault(r.phase, {"ok": 0, "error": 0, "skipped": 0})
            phase[r.status] += 1
        return out

    def duplicates(self) -> int:
        return self._duplicates

    def log_event(self, event: str, fields: dict[str, Any]) -> None:
        self._events.emit(event, **fields)

    def _run_config(self, manifest: dict[str, Any]) -> FleetConfig:
        """The run's own config (thresholds shape its summary); defaults if it is gone."""
        request = manifest.get("request")
        path = request.get("config_path") if isinstance(request, dict) else None
        try:
            return load_config(Path(path) if path else None)
        except InputError as exc:
            self._events.emit("config_unreadable_at_finalize", error=str(exc))
            return FleetConfig()

    def finalize(self, status: str, runs_dir: str | None = None) -> str:
        """Write summary.md, mark the manifest, then (with `runs_dir`) merge the archive's
        aggregate and calibrate unless the run said not to; returns the summary's path."""
        manifest = self._run.read_manifest()
        manifest["status"] = status
        config = self._run_config(manifest)
        sections = {}
        artifacts: list[str] = []
        for phase_name in sorted({r.phase for r in self._records}):
            phase = make_phase(phase_name, config)
            sections[phase_name] = phase.summary_section
            artifacts += phase.write_artifacts(self._run.path, [r for r in self._records if r.phase == phase_name])
        summary = render_run_summary(manifest, self._records, sections=sections)
        self._run.summary_path.write_text(summary, encoding="utf-8")
        self._run.update_manifest(status=status, records=len(self._records), artifacts=artifacts)
        if runs_dir is not None:
            request = manifest.get("request")
            options = request.get("options") if isinstance(request, dict) else None
            wanted = not (isinstance(options, dict) and options.get("calibrate") is False)
            calibrate_now = wanted and config.calibration.ema.auto
            notes = post_run(Path(runs_dir), config, calibrate_now=calibrate_now)
            self._events.emit("aggregated", calibrated=calibrate_now, notes=notes)
        self._events.emit("run_finalized", status=status, records=len(self._records),
                          duplicates_dropped=self._duplicates)
        return str(self._run.summary_path)
