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

Why the cost is O(new records): each lineage's per-item evidence is cached beside its root
run (`calibration.cache`), so after a run only that run's records are read; memory holds
per-item accumulators, never the archive's records. Why the archive's time and not the
clock's: the same archive must give the same bytes (rankings, weights, surprises) on every
re-run, so files are stamped with the newest run's `created_at`.
"""

from __future__ import annotations

import fcntl
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import msgspec

from archive.store import atomic_write_bytes
from calibration.ema import update_weights
from calibration.evidence import UnitKey
from calibration.gather import gather
from calibration.rankings import DEFAULT_CONFIDENCE, build_rankings
from calibration.schema import (
    RANKINGS_JSON,
    ROUTING_WEIGHTS_JSON,
    Rankings,
    RoutingWeights,
    Surprise,
    WeightChange,
)
from calibration.settings import CalibrationSettings
from calibration.surprises import find_surprises, record_surprises
from harness.errors import InputError

PENDING_STATUSES = frozenset({"running", "interrupted"})  # may still gain records on --resume
LOCK_FILE = ".calibrate.lock"
DEFAULT_RESAMPLES = 0  # the intervals are closed-form; kept for callers that pass `resamples`


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
    sources: dict[str, int] = field(default_factory=dict)  # score source -> answers ranked by it
    lineages_read: int = 0  # lineages whose records were read (the rest came from their caches)
    lineages_cached: int = 0

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


def category_means(units: Mapping[UnitKey, list[float]]) -> tuple[dict[str, dict[str, float]], dict[tuple[str, str], int]]:
    """(category -> model -> mean over items of the item means, (model, category) -> items)."""
    per: dict[tuple[str, str], list[float]] = {}
    for (model, _, _, _, category), (total, n) in sorted(units.items()):
        if n > 0:
            per.setdefault((category, model), []).append(total / n)
    means: dict[str, dict[str, float]] = {}
    for (category, model), values in per.items():
        means.setdefault(category, {})[model] = sum(values) / len(values)
    return means, {(model, category): len(values) for (category, model), values in per.items()}


def calibrate(runs_dir: Path, settings: CalibrationSettings, *, now: str | None = None,
              resamples: int = DEFAULT_RESAMPLES, confidence: float = DEFAULT_CONFIDENCE) -> CalibrateResult:
    """Rankings over the whole archive, EMA weights over runs not seen before, surprises.
    Learning rate and threshold come from `settings.ema` (the CLI overrides them there).
    `now` overrides the archive's own time (tests); `resamples` is accepted and unused."""
    del resamples
    if not runs_dir.is_dir():
        raise InputError(str(runs_dir), "no such run archive directory")
    ema = settings.ema
    with _Locked(runs_dir):
        before = load_weights(runs_dir, settings)  # first: a damaged file stops us before any work
        seen = set(before.seen_runs)
        archive = gather(runs_dir, settings.rubric.weights,
                         fresh=lambda run_id, status: run_id not in seen and status not in PENDING_STATUSES)
        stamp = now or archive.stamp
        rankings = build_rankings(archive.units, archive.calls, now=stamp, confidence=confidence)
        unseen = archive.scored_runs - seen
        pending = sorted(r for r in unseen if archive.statuses.get(r) in PENDING_STATUSES)
        new_runs = sorted(unseen - set(pending))
        means, items = category_means(archive.fresh)
        observed = {(model, cat): mean / 100 for cat, per in means.items() for model, mean in per.items()}
        evidence_time = now or max((archive.created.get(r, "") for r in new_runs), default=stamp)
        weights, changes = update_weights(before, observed, runs=new_runs, learning_rate=ema.learning_rate,
                                          threshold=ema.threshold, now=evidence_time, items=items)
        runs_by_category = {cat: sorted(ids) for cat, ids in archive.fresh_runs.items()}
        surprises = find_surprises(means, before, ema.expected_leaders, date=evidence_time[:10],
                                   runs=runs_by_category)
        files = [_write(runs_dir / RANKINGS_JSON, rankings), *record_surprises(runs_dir, surprises)]
        if weights is not before:
            files.append(_write(runs_dir / ROUTING_WEIGHTS_JSON, weights))
    return CalibrateResult(rankings=rankings, weights=weights, changes=changes, new_runs=new_runs,
                           surprises=surprises, files=files, unreadable=archive.unreadable, pending_runs=pending,
                           sources=dict(Counter(archive.sources)), lineages_read=archive.read_lineages,
                           lineages_cached=archive.cached_lineages)
