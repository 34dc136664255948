"""`fleetbench calibrate`: archive -> scores -> rankings, EMA routing weights, surprises.

Why rankings use every run but the weights only new runs: a ranking is a picture of all
the evidence (latest record per key within a lineage, so a retried call counts once); the
weights are a running average and must see each run exactly once (`seen_runs`).

Why runs still `running` or `interrupted` are left for later: they can be resumed, and
their remaining records would never reach the weights once the run was marked seen. The
collector marks a run `completed` before it calls calibrate, so the normal path loses
nothing; a run in either state still shows in the rankings.

Why a lock file: the collector calibrates after every run and a user may run the command
at the same moment; the second waits instead of losing the first one's update. Why the
weights are written last: they hold `seen_runs`, the commit point; a crash before it
leaves the evidence unconsumed (the surprise log skips what it already holds).

Why a damaged routing_weights.json stops the command: starting from empty weights would
silently throw away the history and count every run again.
"""

from __future__ import annotations

import fcntl
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import msgspec

from archive.aggregate import RunEntry, build_lineages, read_run
from archive.store import RunStore, atomic_write_bytes
from calibration.ema import update_weights
from calibration.manual_store import manual_totals_by_run
from calibration.rankings import DEFAULT_RESAMPLES, build_rankings
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
from calibration.surprises import find_surprises, record_surprises
from harness.errors import InputError

PENDING_STATUSES = frozenset({"running", "interrupted"})  # may still gain records on --resume
LOCK_FILE = ".calibrate.lock"


@dataclass
class CalibrateResult:
    """What one calibration did, for the CLI's tables and the collector's event."""

    rankings: Rankings
    weights: RoutingWeights
    changes: list[WeightChange]
    new_runs: list[str]  # runs whose evidence moved (or was weighed for) the weights this time
    surprises: list[Surprise]
    files: list[Path] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)  # run id -> why it was left out
    pending_runs: list[str] = field(default_factory=list)  # unseen runs left for a later calibrate
    sources: dict[str, int] = field(default_factory=dict)  # score source -> records ranked by it

    @property
    def applied(self) -> list[WeightChange]:
        return [c for c in self.changes if c.applied]

    def summary(self) -> dict[str, object]:
        """Plain JSON values for an event or a log line (the collector's `aggregated`)."""
        return {"weights_version": self.weights.version, "new_runs": self.new_runs,
                "changes": len(self.changes), "applied": len(self.applied),
                "surprises": [f"{s.actual_leader} beat {s.expected_leader} at {s.category}" for s in self.surprises],
                "pending_runs": self.pending_runs, "unreadable_runs": sorted(self.unreadable),
                "files": [str(p) for p in self.files]}


class _Locked:
    """An exclusive flock on `<runs-dir>/.calibrate.lock` for the whole read-compute-write,
    so two collectors finishing at once cannot both apply the same run's EMA update."""

    def __init__(self, runs_dir: Path) -> None:
        self._path = runs_dir / LOCK_FILE
        self._fh: IO[str] | None = None

    def __enter__(self) -> None:
        self._fh = self._path.open("a")
        fcntl.flock(self._fh, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _write(path: Path, value: object) -> Path:
    atomic_write_bytes(path, msgspec.json.format(msgspec.json.encode(value), indent=2) + b"\n")
    return path


def load_weights(runs_dir: Path, settings: CalibrationSettings) -> RoutingWeights:
    """The saved weights; fresh ones when there are none yet; InputError when damaged."""
    path = runs_dir / ROUTING_WEIGHTS_JSON
    if not path.exists():
        return RoutingWeights(learning_rate=settings.ema.learning_rate, threshold=settings.ema.threshold)
    try:
        return msgspec.json.decode(path.read_bytes(), type=RoutingWeights)
    except (OSError, msgspec.DecodeError) as exc:
        raise InputError(str(path), f"unreadable routing weights ({exc}); repair or move the file "
                                    "(calibrate will not silently start the weights over)") from None


@dataclass
class ArchiveScores:
    scored: list[ScoredRecord]
    statuses: dict[str, str]  # run id -> manifest status
    unreadable: dict[str, str]


def scored_archive(runs_dir: Path, settings: CalibrationSettings) -> ArchiveScores:
    """Every scored winning record of the archive, manual rubric scores applied per run;
    a run that cannot be read is named in `unreadable` and left out."""
    entries: list[RunEntry] = []
    paths: dict[str, Path] = {}
    unreadable: dict[str, str] = {}
    for run in RunStore(runs_dir).list_runs():
        try:
            entries.append(read_run(run))
            paths[run.run_id] = run.path
        except InputError as exc:
            unreadable[run.run_id] = str(exc)
    _, winners = build_lineages(entries)
    manual = manual_totals_by_run({r.run_id: paths[r.run_id] for r in winners}, settings.rubric.weights)
    return ArchiveScores(scored=score_records(winners, manual), statuses={e.run_id: e.status for e in entries},
                         unreadable=unreadable)


def evidence(scored: Sequence[ScoredRecord]) -> tuple[dict[str, dict[str, float]], dict[str, list[str]]]:
    """(category -> model -> mean score, category -> runs it came from)."""
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    runs: dict[str, set[str]] = defaultdict(set)
    for s in scored:
        values[s.category][s.model].append(s.score)
        runs[s.category].add(s.run_id)
    means = {cat: {m: sum(v) / len(v) for m, v in per.items()} for cat, per in values.items()}
    return means, {cat: sorted(ids) for cat, ids in runs.items()}


def calibrate(runs_dir: Path, settings: CalibrationSettings, *, now: str | None = None,
              resamples: int = DEFAULT_RESAMPLES) -> CalibrateResult:
    """Rankings over the whole archive, EMA weights over runs not seen before, surprises.
    Learning rate and threshold come from `settings.ema` (the CLI overrides them there)."""
    if not runs_dir.is_dir():
        raise InputError(str(runs_dir), "no such run archive directory")
    stamp = now or _now()
    ema = settings.ema
    with _Locked(runs_dir):
        before = load_weights(runs_dir, settings)  # first: a damaged file stops us before any work
        archive = scored_archive(runs_dir, settings)
        rankings = build_rankings(archive.scored, now=stamp, resamples=resamples)
        seen = set(before.seen_runs)
        unseen = {s.run_id for s in archive.scored} - seen
        pending = sorted(r for r in unseen if archive.statuses.get(r) in PENDING_STATUSES)
        fresh = [s for s in archive.scored if s.run_id in unseen and s.run_id not in pending]
        new_runs = sorted({s.run_id for s in fresh})
        means, runs_by_category = evidence(fresh)
        observed = {(model, cat): mean / 100 for cat, per in means.items() for model, mean in per.items()}
        weights, changes = update_weights(before, observed, runs=new_runs, learning_rate=ema.learning_rate,
                                          threshold=ema.threshold, now=stamp)
        surprises = find_surprises(means, before, ema.expected_leaders, date=stamp[:10], runs=runs_by_category)
        files = [_write(runs_dir / RANKINGS_JSON, rankings), *record_surprises(runs_dir, surprises)]
        if weights is not before:
            files.append(_write(runs_dir / ROUTING_WEIGHTS_JSON, weights))
    return CalibrateResult(rankings=rankings, weights=weights, changes=changes, new_runs=new_runs,
                           surprises=surprises, files=files, unreadable=archive.unreadable, pending_runs=pending,
                           sources=dict(Counter(s.source for s in archive.scored)))
