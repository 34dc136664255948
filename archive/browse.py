"""Plain data for `fleetbench runs list/show`; the CLI renders it (rich), tests read it.

Why separate from rendering: the same facts feed a terminal table, JSON output and tests,
and reading the archive must not depend on a console.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive.stats import PhaseModelStats, summarize
from archive.store import RunDir, RunStore
from harness.errors import InputError
from harness.records import CallRecord


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    date: str
    status: str
    phases: list[str]
    models: list[str]
    n_records: int
    ok_rate: float | None  # ok / (ok + error); skipped calls excluded
    parent: str | None
    path: Path


@dataclass(frozen=True)
class RunDetail:
    info: RunInfo
    manifest: dict[str, Any]
    stats: list[PhaseModelStats]


def _str_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _info(run: RunDir, manifest: dict[str, Any], records: list[CallRecord]) -> RunInfo:
    ok = sum(1 for r in records if r.status == "ok")
    judged = ok + sum(1 for r in records if r.status == "error")
    parent = manifest.get("parent_run")
    return RunInfo(run_id=run.run_id, date=run.date, status=str(manifest.get("status") or "unknown"),
                   phases=_str_list(manifest.get("phases")), models=_str_list(manifest.get("models")),
                   n_records=len(records), ok_rate=ok / judged if judged else None,
                   parent=parent if isinstance(parent, str) and parent else None, path=run.path)


def list_runs_table(runs_dir: Path) -> list[RunInfo]:
    """Every run, oldest first; a run whose files cannot be read shows status `unreadable`."""
    infos: list[RunInfo] = []
    for run in RunStore(runs_dir).list_runs():
        try:
            infos.append(_info(run, run.read_manifest(), run.load_records()))
        except InputError:
            infos.append(RunInfo(run_id=run.run_id, date=run.date, status="unreadable", phases=[], models=[],
                                 n_records=0, ok_rate=None, parent=None, path=run.path))
    return infos


def show_run(runs_dir: Path, run_id: str) -> RunDetail:
    run = RunStore(runs_dir).find(run_id, where="run id")
    manifest = run.read_manifest()
    records = run.load_records()
    return RunDetail(info=_info(run, manifest, records), manifest=manifest, stats=summarize(records))
