"""Lineages: a run and its retries (linked by `parent_run`), named by the oldest run present.

Why lineages: a retry run re-does some keys of its parent; counting both the parent's error
and the child's success would double-count the call. Within a lineage the latest record per
key wins, runs ordered by creation time then run id, records by line order. Separate
lineages are independent samples and are all counted.

Two readers share the grouping here: `build_lineages` over records in memory (calibration and
the dashboard), and the streaming aggregate (`archive/lineage_fold.py`), which never holds a
lineage's records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive.stats import PhaseModelStats, summarize
from archive.store import RunDir
from harness.records import CallRecord, RecordKey


@dataclass
class RunEntry:
    run_id: str
    date: str
    status: str
    parent_run: str | None
    created_at: str
    lineage: str = ""
    n_records: int = 0
    records: list[CallRecord] = field(default_factory=list, repr=False)


@dataclass
class Lineage:
    root: str
    runs: list[str]
    supplied: dict[str, int]
    records: int
    stats: list[PhaseModelStats]
    missing_parent: str | None = None


@dataclass(frozen=True)
class RunMeta:
    """A run as its manifest describes it, and where its results are."""

    run_id: str
    date: str
    status: str
    parent_run: str | None
    created_at: str
    results: Path


def meta_fields(run: RunDir, manifest: Mapping[str, Any]) -> dict[str, Any]:
    parent = manifest.get("parent_run")
    return {"run_id": run.run_id, "date": run.date, "status": str(manifest.get("status") or "unknown"),
            "parent_run": parent if isinstance(parent, str) and parent else None,
            "created_at": str(manifest.get("created_at") or "")}


def read_meta(run: RunDir) -> RunMeta:
    """Raises InputError when the manifest cannot be read."""
    return RunMeta(**meta_fields(run, run.read_manifest()), results=run.results_path)


def read_run(run: RunDir) -> RunEntry:
    records = run.load_records()
    return RunEntry(**meta_fields(run, run.read_manifest()), n_records=len(records), records=records)


def root_of(run_id: str, parents: Mapping[str, str | None]) -> str:
    """Follow `parent_run` links to the oldest run present; cycles stop where they repeat."""
    seen = {run_id}
    current = run_id
    while True:
        parent = parents.get(current)
        if parent is None or parent not in parents or parent in seen:
            return current
        seen.add(parent)
        current = parent


def missing_parent(root: str, parents: Mapping[str, str | None]) -> str | None:
    """The root's parent when the archive lacks it (deleted, or unreadable)."""
    parent = parents.get(root)
    return parent if parent is not None and parent not in parents else None


def lineage_groups(runs: Sequence[RunMeta]) -> dict[str, list[RunMeta]]:
    """Root -> its runs in lineage order (created_at, then run id), roots sorted."""
    parents = {r.run_id: r.parent_run for r in runs}
    groups: dict[str, list[RunMeta]] = {}
    for run in runs:
        groups.setdefault(root_of(run.run_id, parents), []).append(run)
    return {root: sorted(groups[root], key=lambda r: (r.created_at, r.run_id)) for root in sorted(groups)}


def winner_rank(status: str) -> int:
    """Within a lineage the latest record of a key wins, but a `skipped` record (a retry run
    that had no access) never hides an earlier call's result: a call beats a skip."""
    return 0 if status == "skipped" else 1


def build_lineages(entries: list[RunEntry]) -> tuple[list[Lineage], list[CallRecord]]:
    """Lineages with their winning records, from records in memory; returns (lineages, all
    winning records). Sets each entry's `lineage`."""
    parents = {e.run_id: e.parent_run for e in entries}
    groups: dict[str, list[RunEntry]] = {}
    for entry in entries:
        entry.lineage = root_of(entry.run_id, parents)
        groups.setdefault(entry.lineage, []).append(entry)
    lineages: list[Lineage] = []
    everything: list[CallRecord] = []
    for root in sorted(groups):
        members = sorted(groups[root], key=lambda e: (e.created_at, e.run_id))
        winners: dict[RecordKey, tuple[str, CallRecord]] = {}
        for entry in members:
            for record in entry.records:
                held = winners.get(record.key)
                if held is None or winner_rank(record.status) >= winner_rank(held[1].status):
                    winners[record.key] = (entry.run_id, record)
        supplied = {e.run_id: 0 for e in members}
        for run_id, _ in winners.values():
            supplied[run_id] += 1
        chosen = [record for _, record in winners.values()]
        lineages.append(Lineage(root=root, runs=[e.run_id for e in members], supplied=supplied,
                                records=len(chosen), stats=summarize(chosen),
                                missing_parent=missing_parent(root, parents)))
        everything.extend(chosen)
    return lineages, everything
