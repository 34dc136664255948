"""The whole archive's evidence, folded lineage by lineage into per-item accumulators.

Why accumulators keyed by item and not by run: the item is the unit, and the same item
run on ten days is one item measured ten times more, not ten items; so the archive-wide
picture costs O(models x items) memory whatever the number of runs or records. Only the
runs whose evidence has not reached the routing weights yet (`fresh`) are also kept apart.

Why this module groups lineages itself: `archive.aggregate` resolves lineages over loaded
records; here only the manifests are read, and each lineage is served by its cache.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from archive.store import RunStore
from calibration.cache import lineage_evidence
from calibration.evidence import CallCell, CallKey, Member, UnitKey
from harness.errors import InputError


@dataclass
class ArchiveEvidence:
    units: dict[UnitKey, list[float]] = field(default_factory=dict)  # -> [total, n]
    calls: dict[CallKey, CallCell] = field(default_factory=dict)
    fresh: dict[UnitKey, list[float]] = field(default_factory=dict)  # units of runs not yet weighed
    fresh_runs: dict[str, set[str]] = field(default_factory=dict)  # category -> fresh runs behind it
    scored_runs: set[str] = field(default_factory=set)  # runs that supplied any scored answer
    statuses: dict[str, str] = field(default_factory=dict)  # run id -> manifest status
    created: dict[str, str] = field(default_factory=dict)  # run id -> manifest created_at
    unreadable: dict[str, str] = field(default_factory=dict)
    sources: Counter[str] = field(default_factory=Counter)
    stamp: str = ""  # the newest run's created_at: the archive's own time
    cached_lineages: int = 0
    read_lineages: int = 0


def _root_of(run_id: str, parents: Mapping[str, str | None]) -> str:
    """Follow `parent_run` links to the oldest run present; cycles stop where they repeat."""
    seen = {run_id}
    current = run_id
    while (parent := parents.get(current)) is not None and parent in parents and parent not in seen:
        seen.add(parent)
        current = parent
    return current


def members_by_lineage(runs_dir: Path, unreadable: dict[str, str]) -> dict[str, list[Member]]:
    """Root run id -> its lineage's runs, from the manifests; a bad manifest is noted."""
    members: dict[str, Member] = {}
    for run in RunStore(runs_dir).list_runs():
        try:
            manifest = run.read_manifest()
        except InputError as exc:
            unreadable[run.run_id] = str(exc)
            continue
        parent = manifest.get("parent_run")
        members[run.run_id] = Member(run=run, created_at=str(manifest.get("created_at") or ""),
                                     status=str(manifest.get("status") or "unknown"),
                                     parent=parent if isinstance(parent, str) and parent else None)
    parents = {run_id: m.parent for run_id, m in members.items()}
    lineages: dict[str, list[Member]] = {}
    for run_id, member in sorted(members.items()):
        lineages.setdefault(_root_of(run_id, parents), []).append(member)
    return lineages


def archive_time(runs_dir: Path) -> str:
    """The newest run's `created_at`: the time stamped on files derived from the archive, so
    the same archive gives the same bytes whenever it is read."""
    return max((m.created_at for ms in members_by_lineage(runs_dir, {}).values() for m in ms), default="")


def _add(into: dict[UnitKey, list[float]], key: UnitKey, total: float, n: int) -> None:
    acc = into.get(key)
    if acc is None:
        into[key] = [total, float(n)]
    else:
        acc[0] += total
        acc[1] += n


def _add_calls(into: dict[CallKey, CallCell], cell: CallCell) -> None:
    key = (cell.model, cell.phase, cell.item_id)
    acc = into.get(key)
    if acc is None:
        acc = into[key] = CallCell(run_id="", model=cell.model, phase=cell.phase, item_id=cell.item_id)
    acc.ok += cell.ok
    acc.provider += cell.provider
    acc.ours += cell.ours
    acc.skipped += cell.skipped
    for name, n in cell.provider_classes.items():
        acc.provider_classes[name] = acc.provider_classes.get(name, 0) + n
    for name, n in cell.our_classes.items():
        acc.our_classes[name] = acc.our_classes.get(name, 0) + n


def gather(runs_dir: Path, rubric_weights: Mapping[str, int], fresh: Callable[[str, str], bool]) -> ArchiveEvidence:
    """Every lineage's evidence folded together; `fresh(run_id, status)` says which runs'
    evidence is also kept apart for the routing weights."""
    out = ArchiveEvidence()
    lineages = members_by_lineage(runs_dir, out.unreadable)
    for root_id, members in sorted(lineages.items()):
        root = next(m for m in members if m.run.run_id == root_id)
        for m in members:
            out.statuses[m.run.run_id] = m.status
            out.created[m.run.run_id] = m.created_at
            out.stamp = max(out.stamp, m.created_at)
        evidence, unreadable, cached = lineage_evidence(root, members, rubric_weights)
        out.unreadable.update(unreadable)
        out.cached_lineages += cached
        out.read_lineages += not cached
        out.sources.update(evidence.sources)
        for cell in evidence.scores:
            key = (cell.model, cell.source, cell.phase, cell.item_id, cell.category)
            _add(out.units, key, cell.total, cell.n)
            out.scored_runs.add(cell.run_id)
            if fresh(cell.run_id, out.statuses.get(cell.run_id, "unknown")):
                _add(out.fresh, key, cell.total, cell.n)
                out.fresh_runs.setdefault(cell.category, set()).add(cell.run_id)
        for call in evidence.calls:
            _add_calls(out.calls, call)
    return out


def unit_means(units: Mapping[UnitKey, list[float]]) -> dict[UnitKey, float]:
    """Each item's mean score (0-100): its repeats, variants and runs are one unit."""
    return {key: total / n for key, (total, n) in units.items() if n > 0}
