"""Merge every archived run into `aggregate.json` and `AGGREGATE_SUMMARY.md`.

Why lineages: a retry run (`parent_run` in its manifest) re-does some keys of its parent;
counting both the parent's error and the child's success would double-count the call.
Within a lineage (the runs linked by `parent_run`, named by the root's id) the latest
record per key wins, runs ordered by creation time then run id, records by line order.
Separate lineages are independent samples and are all counted.

Why an unreadable run is reported, not raised: aggregation runs after every run; one
damaged old run must not stop the archive's summary from being written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from archive.manifest import utc_now_iso
from archive.stats import PhaseModelStats, summarize
from archive.store import RunDir, RunStore, atomic_write_text
from archive.summary_md import SectionHook, fmt_pct, phase_sections
from harness.errors import InputError
from harness.records import CallRecord, RecordKey

AGGREGATE_JSON = "aggregate.json"
AGGREGATE_MD = "AGGREGATE_SUMMARY.md"


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


@dataclass
class Aggregate:
    runs: list[RunEntry]
    lineages: list[Lineage]
    overall: list[PhaseModelStats]
    unreadable: dict[str, str]
    json_path: Path
    md_path: Path


def read_run(run: RunDir) -> RunEntry:
    manifest = run.read_manifest()
    records = run.load_records()
    parent = manifest.get("parent_run")
    return RunEntry(run_id=run.run_id, date=run.date, status=str(manifest.get("status") or "unknown"),
                    parent_run=parent if isinstance(parent, str) and parent else None,
                    created_at=str(manifest.get("created_at") or ""), n_records=len(records), records=records)


def _root_of(run_id: str, parents: Mapping[str, str | None]) -> str:
    """Follow `parent_run` links to the oldest run present; cycles stop where they repeat."""
    seen = {run_id}
    current = run_id
    while True:
        parent = parents.get(current)
        if parent is None or parent not in parents or parent in seen:
            return current
        seen.add(parent)
        current = parent


def build_lineages(entries: list[RunEntry]) -> tuple[list[Lineage], list[CallRecord]]:
    """Lineages with their winning records; returns (lineages, all winning records)."""
    parents = {e.run_id: e.parent_run for e in entries}
    groups: dict[str, list[RunEntry]] = {}
    for entry in entries:
        entry.lineage = _root_of(entry.run_id, parents)
        groups.setdefault(entry.lineage, []).append(entry)
    lineages: list[Lineage] = []
    everything: list[CallRecord] = []
    for root in sorted(groups):
        members = sorted(groups[root], key=lambda e: (e.created_at, e.run_id))
        winners: dict[RecordKey, tuple[str, CallRecord]] = {}
        for entry in members:
            for record in entry.records:
                winners[record.key] = (entry.run_id, record)
        supplied = {e.run_id: 0 for e in members}
        for run_id, _ in winners.values():
            supplied[run_id] += 1
        chosen = [record for _, record in winners.values()]
        root_parent = parents.get(root)
        lineages.append(Lineage(root=root, runs=[e.run_id for e in members], supplied=supplied,
                                records=len(chosen), stats=summarize(chosen),
                                missing_parent=root_parent if root_parent not in parents else None))
        everything.extend(chosen)
    return lineages, everything


def _lineage_success(lineage: Lineage) -> float | None:
    ok = sum(s.ok for s in lineage.stats)
    judged = ok + sum(s.error for s in lineage.stats)
    return ok / judged if judged else None


def render_aggregate_md(result: Aggregate, winners: list[CallRecord],
                        sections: Mapping[str, SectionHook] | None = None,
                        extra: Sequence[str] = ()) -> str:
    lines = [
        "# Aggregate summary",
        "",
        f"- generated: {utc_now_iso()}",
        f"- runs: {len(result.runs)}; lineages: {len(result.lineages)}; records counted: {len(winners)}",
        "",
        "Within a lineage (a run and its retries) the latest record per key counts once.",
    ]
    parts = ["\n".join(lines)]
    parts.extend(phase_sections(winners, sections) if winners else ["No results recorded."])
    parts.extend(extra)
    rows = ["| lineage (root run) | runs | records | success % | records supplied by run |",
            "|---|---:|---:|---:|---|"]
    for lin in result.lineages:
        supplied = ", ".join(f"{run}: {n}" for run, n in lin.supplied.items())
        root = lin.root + (f" (parent {lin.missing_parent} missing)" if lin.missing_parent else "")
        rows.append(f"| {root} | {len(lin.runs)} | {lin.records} | {fmt_pct(_lineage_success(lin))} | {supplied} |")
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
        "generated_at": utc_now_iso(datetime.now(UTC)),
        "runs": [{"run_id": e.run_id, "date": e.date, "status": e.status, "parent_run": e.parent_run,
                  "created_at": e.created_at, "lineage": e.lineage, "records": e.n_records} for e in result.runs],
        "lineages": [{"root": lin.root, "runs": lin.runs, "supplied": lin.supplied, "records": lin.records,
                      "missing_parent": lin.missing_parent, "stats": msgspec.to_builtins(lin.stats)}
                     for lin in result.lineages],
        "overall": msgspec.to_builtins(result.overall),
        "unreadable": result.unreadable,
    }


def aggregate(runs_dir: Path, sections: Mapping[str, SectionHook] | None = None,
              extra_sections: Callable[[], Sequence[str]] | None = None) -> Aggregate:
    """Read every run, resolve lineages, write both aggregate files atomically.

    `extra_sections` runs after `aggregate.json` is written and before the markdown, so
    sections computed from it (model selection reads availability there) are current."""
    store = RunStore(runs_dir)
    if not store.runs_dir.is_dir():
        raise InputError(str(runs_dir), "no such run archive directory")
    entries: list[RunEntry] = []
    unreadable: dict[str, str] = {}
    for run in store.list_runs():
        try:
            entries.append(read_run(run))
        except InputError as exc:
            unreadable[run.run_id] = str(exc)
    lineages, winners = build_lineages(entries)
    result = Aggregate(runs=entries, lineages=lineages, overall=summarize(winners), unreadable=unreadable,
                       json_path=store.runs_dir / AGGREGATE_JSON, md_path=store.runs_dir / AGGREGATE_MD)
    atomic_write_text(result.json_path, json.dumps(_to_json(result), indent=2) + "\n")
    extra = list(extra_sections()) if extra_sections is not None else []
    atomic_write_text(result.md_path, render_aggregate_md(result, winners, sections, extra))
    return result
