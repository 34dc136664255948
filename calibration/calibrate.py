"""`fleetbench calibrate`: archive -> scores -> rankings, EMA routing weights, surprises.

Why rankings use every run but the weights only new runs: a ranking is a picture of all
the evidence (latest record per key within a lineage, so a retried call counts once); the
weights are a running average and must see each run exactly once (`seen_runs`). Why a
lock file: the collector calibrates after every run and a user may run the command at the
same moment; the second waits instead of losing the first one's update.
"""

from __future__ import annotations

import fcntl
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from archive.aggregate import RunEntry, build_lineages, read_run
from archive.store import RunDir, RunStore, atomic_write_bytes
from calibration.ema import update_weights
from calibration.manual_store import manual_totals
from calibration.rankings import build_rankings
from calibration.schema import (
    RANKINGS_JSON,
    ROUTING_WEIGHTS_JSON,
    Rankings,
    RoutingWeights,
    Surprise,
    WeightChange,
)
from calibration.scores import ScoredRecord, score_records
from calibration.settings import CalibrationSettings
from calibration.summary_md import read_struct
from harness.errors import InputError
from harness.records import CallRecord


@dataclass
class CalibrateResult:
    rankings: Rankings
    weights: RoutingWeights
    changes: list[WeightChange]
    new_runs: list[str]
    surprises: list[Surprise]
    files: list[Path] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)

    @property
    def applied(self) -> list[WeightChange]:
        return [c for c in self.changes if c.applied]


@contextmanager
def _locked(runs_dir: Path) -> Iterator[None]:
    with (runs_dir / ".calibrate.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _write(path: Path, value: object) -> Path:
    atomic_write_bytes(path, msgspec.json.format(msgspec.json.encode(value), indent=2) + b"\n")
    return path


def scored_archive(runs_dir: Path, settings: CalibrationSettings) -> tuple[list[ScoredRecord], dict[str, str]]:
    """Every scored winning record of the archive, manual rubric scores applied per run."""
    entries: list[RunEntry] = []
    dirs: dict[str, RunDir] = {}
    unreadable: dict[str, str] = {}
    for run in RunStore(runs_dir).list_runs():
        try:
            entries.append(read_run(run))
            dirs[run.run_id] = run
        except InputError as exc:
            unreadable[run.run_id] = str(exc)
    _, winners = build_lineages(entries)
    by_run: dict[str, list[CallRecord]] = defaultdict(list)
    for record in winners:
        by_run[record.run_id].append(record)
    scored: list[ScoredRecord] = []
    for run_id, records in sorted(by_run.items()):
        manual = manual_totals(dirs[run_id].path, settings.rubric.weights) if run_id in dirs else {}
        scored += score_records(records, manual)
    return scored, unreadable


def _means(scored: list[ScoredRecord]) -> dict[str, dict[str, float]]:
    sums: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for s in scored:
        sums[s.category][s.model].append(s.score)
    return {cat: {m: sum(v) / len(v) for m, v in per.items()} for cat, per in sums.items()}


def calibrate(runs_dir: Path, settings: CalibrationSettings, *, now: str | None = None,
              learning_rate: float | None = None, threshold: float | None = None) -> CalibrateResult:
    if not runs_dir.is_dir():
        raise InputError(str(runs_dir), "no such run archive directory")
    from calibration.surprises import find_surprises, record_surprises

    stamp = now or _now()
    lr = learning_rate if learning_rate is not None else settings.ema.learning_rate
    th = threshold if threshold is not None else settings.ema.threshold
    with _locked(runs_dir):
        scored, unreadable = scored_archive(runs_dir, settings)
        rankings = build_rankings(scored, now=stamp)
        before = read_struct(runs_dir / ROUTING_WEIGHTS_JSON, RoutingWeights) or RoutingWeights(
            learning_rate=lr, threshold=th)
        seen = set(before.seen_runs)
        fresh = [s for s in scored if s.run_id not in seen]
        new_runs = sorted({s.run_id for s in fresh})
        means = _means(fresh)
        observed = {(model, cat): mean / 100 for cat, per in means.items() for model, mean in per.items()}
        weights, changes = update_weights(before, observed, runs=new_runs, learning_rate=lr, threshold=th,
                                          now=stamp)
        surprises = find_surprises(means, before, settings.ema.expected_leaders, date=stamp[:10], runs=new_runs)
        files = [_write(runs_dir / RANKINGS_JSON, rankings), _write(runs_dir / ROUTING_WEIGHTS_JSON, weights)]
        record_surprises(runs_dir, surprises)
    return CalibrateResult(rankings=rankings, weights=weights, changes=changes, new_runs=new_runs,
                           surprises=surprises, files=files, unreadable=unreadable)
