"""Merge every archived run into `aggregate.json` and `AGGREGATE_SUMMARY.md`.

Lineages (archive/lineage.py): within a run and its retries the latest record per key
counts once; separate lineages are independent samples and all count.

Why streaming and cached: the archive grows for years, and this runs after every run. Each
lineage is folded from its results files one record at a time (archive/lineage_fold.py) into
statistics and the phases' section states, which are cached per lineage
(archive/aggregate_cache.py) and merged; memory holds one lineage's fold and the running
merge, never the records, and after a new run only that run's lineage is read.

Why the same archive gives the same bytes: nothing here reads the clock; "as of" is the
newest run's creation time, lineages merge in root order, and a cached lineage restores
exactly the state its fold produced.

Why an unreadable run is reported, not raised: one damaged old run must not stop the
archive's summary from being written.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from archive.aggregate_cache import AggregateCache
from archive.fold_record import hash_file
from archive.latency import SKETCH_NOTE
from archive.lineage import (
    Lineage,
    RunEntry,
    RunMeta,
    build_lineages,
    lineage_groups,
    missing_parent,
    read_meta,
    read_run,
)
from archive.lineage_fold import FileRead, LineageSummary, UnreadableRun, fold_lineage
from archive.merged import Merged
from archive.section_state import SectionFactory
from archive.stats import PhaseModelStats, success_interval
from archive.stats_md import DASH, fmt_rate, phase_parts
from archive.store import RunStore, atomic_write_bytes, atomic_write_text
from harness.errors import InputError

AGGREGATE_JSON = "aggregate.json"
AGGREGATE_MD = "AGGREGATE_SUMMARY.md"

__all__ = ["AGGREGATE_JSON", "AGGREGATE_MD", "Aggregate", "Lineage", "RunEntry", "aggregate", "build_lineages",
           "read_run"]


@dataclass
class Aggregate:
    runs: list[RunEntry]
    lineages: list[Lineage]
    overall: list[PhaseModelStats]
    unreadable: dict[str, str]
    json_path: Path
    md_path: Path
    records: int = 0
    as_of: str | None = None
    folded: list[str] = field(default_factory=list)  # runs whose results were read this time
    sections: dict[str, str | None] = field(default_factory=dict)


def _lineage(root: str, members: list[RunMeta], parents: Mapping[str, str | None], cache: AggregateCache,
             factories: Mapping[str, SectionFactory], merged: Merged) -> tuple[LineageSummary, str]:
    """The lineage's summary and cache key, from the cache when its files are unchanged,
    else folded."""
    files = {m.run_id: cache.stat(m) for m in members}  # (size, mtime_ns)
    digests: dict[str, tuple[int, str]] = {}
    summary = None
    known = {m.run_id: cache.known(m, *files[m.run_id]) for m in members}
    if all(known.values()) or cache.has(root):  # else nothing to compare with: fold at once
        for meta in members:
            size, mtime_ns = files[meta.run_id]
            entry = known[meta.run_id]
            digests[meta.run_id] = (size, entry.digest if entry is not None else hash_file(meta.results, size))
        summary = cache.load(root, cache.key(members, digests))
    if summary is None:
        sizes = {run_id: size for run_id, (size, _) in files.items()}
        try:
            summary, reads = fold_lineage(root, members, sizes, factories, missing_parent(root, parents))
        except UnreadableRun as bad:
            size, mtime_ns = files[bad.run_id]
            meta = next(m for m in members if m.run_id == bad.run_id)
            digest = digests[bad.run_id][1] if bad.run_id in digests else hash_file(meta.results, size)
            cache.remember(meta, FileRead(size, digest), mtime_ns, unreadable=bad.reason)
            raise
        merged.folded.extend(summary.runs)
        digests.update({run_id: (read.size, read.digest) for run_id, read in reads.items()})
        cache.save(summary, cache.key(members, digests))
    for meta in members:
        size, digest = digests[meta.run_id]
        cache.remember(meta, FileRead(size, digest), files[meta.run_id][1])
    return summary, cache.key(members, digests)


def _prefix(groups: list[tuple[str, list[RunMeta]]], cache: AggregateCache,
            factories: Mapping[str, SectionFactory]) -> tuple[Merged, bytes | None]:
    """The longest stored merged prefix that the archive's first lineages still match (and
    its stored bytes), or an empty merge (archive/merged.py)."""
    keys: list[str | None] = []
    for stored in cache.prefixes():
        merged = Merged.from_bytes(stored, factories)
        if merged is None or len(merged.keys) > len(groups):
            continue
        while len(keys) < len(merged.keys):
            _, members = groups[len(keys)]
            keys.append(cache.lineage_key(members))
        if keys[: len(merged.keys)] == merged.keys:
            return merged, stored
    return Merged(), None


def _merge_all(metas: list[RunMeta], cache: AggregateCache, factories: Mapping[str, SectionFactory]) -> Merged:
    parents = {m.run_id: m.parent_run for m in metas}
    groups = list(lineage_groups(metas).items())
    merged, stored = _prefix(groups, cache, factories)
    start = len(merged.keys)
    but_last = stored if start == len(groups) - 1 else None  # the last lineage is the one new or changed
    for index in range(start, len(groups)):
        if index == len(groups) - 1 and but_last is None and index > 0:
            but_last = merged.to_bytes()
        root, members = groups[index]
        merged.add(*_lineage(root, members, parents, cache, factories, merged))
    if start < len(groups):
        cache.save_prefixes(merged.to_bytes(), but_last)
    return merged


def _lineage_success(lineage: Lineage) -> str:
    ok = sum(s.ok for s in lineage.stats)
    judged = ok + sum(s.error for s in lineage.stats)
    if not judged:
        return DASH
    interval = success_interval(ok, judged)
    return fmt_rate(ok / judged, interval.lo, interval.hi)


def render_aggregate_md(result: Aggregate, extra: Sequence[str] = ()) -> str:
    lines = [
        "# Aggregate summary",
        "",
        f"- as of: {result.as_of or DASH} (the newest run's creation time)",
        f"- runs: {len(result.runs)}; lineages: {len(result.lineages)}; records counted: {result.records}",
        "",
        "Within a lineage (a run and its retries) the latest record per key counts once. " + SKETCH_NOTE,
    ]
    parts = ["\n".join(lines)]
    parts.extend(phase_parts(result.overall, result.sections) if result.records else ["No results recorded."])
    parts.extend(extra)
    rows = ["| lineage (root run) | runs | records | success % [95% CI] | records supplied by run |",
            "|---|---:|---:|---:|---|"]
    for lin in result.lineages:
        supplied = ", ".join(f"{run}: {n}" for run, n in lin.supplied.items())
        root = lin.root + (f" (parent {lin.missing_parent} missing)" if lin.missing_parent else "")
        rows.append(f"| {root} | {len(lin.runs)} | {lin.records} | {_lineage_success(lin)} | {supplied} |")
    parts.append("## Lineages\n\n" + "\n".join(rows))
    runs = ["| run | date | status | parent | records |", "|---|---|---|---|---:|"]
    for e in result.runs:
        runs.append(f"| {e.run_id} | {e.date} | {e.status} | {e.parent_run or '–'} | {e.n_records} |")
    parts.append("## Runs\n\n" + "\n".join(runs))
    if result.unreadable:
        bad = "\n".join(f"- {run}: {why}" for run, why in sorted(result.unreadable.items()))
        parts.append(f"## Unreadable runs (left out)\n\n{bad}")
    return "\n\n".join(parts) + "\n"


def _to_json(result: Aggregate) -> dict[str, Any]:
    return {
        "as_of": result.as_of,
        "runs": [{"run_id": e.run_id, "date": e.date, "status": e.status, "parent_run": e.parent_run,
                  "created_at": e.created_at, "lineage": e.lineage, "records": e.n_records} for e in result.runs],
        "lineages": [{"root": lin.root, "runs": lin.runs, "supplied": lin.supplied, "records": lin.records,
                      "missing_parent": lin.missing_parent, "stats": lin.stats} for lin in result.lineages],
        "overall": result.overall,
        "unreadable": result.unreadable,
    }


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Folding allocates millions of short-lived objects and no reference cycles; each of the
    collector's full passes over the process's heap (every imported module) costs ~100 ms
    here, several times per aggregate. Reference counting still frees everything."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def aggregate(runs_dir: Path, sections: Mapping[str, SectionFactory] | None = None,
              extra_sections: Callable[[], Sequence[str]] | None = None) -> Aggregate:
    """Fold (or load from the cache) every lineage, merge, write both aggregate files atomically.

    `sections` maps phase names to their section-state factories (agents.phases.section_states).
    `extra_sections` runs after `aggregate.json` is written and before the markdown, so
    sections computed from it (model selection reads availability there) are current."""
    with _without_cycle_collection():
        return _aggregate(runs_dir, sections, extra_sections)


def _aggregate(runs_dir: Path, sections: Mapping[str, SectionFactory] | None,
               extra_sections: Callable[[], Sequence[str]] | None) -> Aggregate:
    store = RunStore(runs_dir)
    if not store.runs_dir.is_dir():
        raise InputError(str(runs_dir), "no such run archive directory")
    factories = dict(sections or {})
    cache = AggregateCache(store.runs_dir, factories)
    unreadable: dict[str, str] = {}
    metas: list[RunMeta] = []
    for run in store.list_runs():
        try:
            meta = read_meta(run)
        except InputError as exc:
            unreadable[run.run_id] = str(exc)
            continue
        size, mtime_ns = cache.stat(meta)
        known = cache.known(meta, size, mtime_ns)
        if known is not None and known.unreadable:
            unreadable[run.run_id] = known.unreadable
            cache.remember(meta, FileRead(size, known.digest), mtime_ns, unreadable=known.unreadable)
            continue
        metas.append(meta)
    while True:  # a corrupt file found while folding leaves its run out, then the rest merge again
        try:
            merged = _merge_all(metas, cache, factories)
            break
        except UnreadableRun as bad:
            unreadable[bad.run_id] = bad.reason
            metas = [m for m in metas if m.run_id != bad.run_id]
    cache.finish(lin.root for lin in merged.lineages)
    entries = [RunEntry(run_id=m.run_id, date=m.date, status=m.status, parent_run=m.parent_run,
                        created_at=m.created_at, lineage=merged.lineage_of[m.run_id],
                        n_records=merged.n_records[m.run_id]) for m in metas]
    result = Aggregate(runs=entries, lineages=merged.lineages, overall=merged.stats.rows(), unreadable=unreadable,
                       json_path=store.runs_dir / AGGREGATE_JSON, md_path=store.runs_dir / AGGREGATE_MD,
                       records=sum(lin.records for lin in merged.lineages),
                       as_of=max((m.created_at for m in metas if m.created_at), default=None),
                       folded=merged.folded,
                       sections={phase: state.render() for phase, state in sorted(merged.sections.items())})
    atomic_write_bytes(result.json_path, msgspec.json.format(msgspec.json.encode(_to_json(result)), indent=2) + b"\n")
    extra = list(extra_sections()) if extra_sections is not None else []
    atomic_write_text(result.md_path, render_aggregate_md(result, extra))
    return result
