"""Read a runs directory into one `DashboardData`: runs, lineage winners, calibration files.

Why lineage winners (archive.aggregate.build_lineages) for the comparison tabs: a retry run
re-does some of its parent's keys, and counting the parent's error beside the child's
success would double-count the call; the dashboard must agree with `aggregate.json`. The
History tab, by contrast, shows each dated run with its own records: that is what happened
on that day.

Why every calibration file is optional and a broken one is a note, not an error: rankings,
weights, selection and judge comparisons are written by other commands that may never have
run; the dashboard is still useful without them and says which command fills the gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from agents.config import ToolUseSettings
from archive.aggregate import RunEntry, build_lineages
from archive.stats import summarize
from archive.store import RunDir, RunStore
from calibration.manual_store import manual_totals_by_run
from calibration.schema import (
    JUDGE_COMPARISON_JSON,
    RANKINGS_JSON,
    ROUTING_WEIGHTS_JSON,
    SELECTION_JSON,
    SURPRISES_JSONL,
    JudgeComparison,
    Rankings,
    RoutingWeights,
    Selection,
    Surprise,
)
from calibration.scores import SCORE_SOURCE_TEXT, SOURCE_GROUP, ManualTotals, score_records
from calibration.settings import CalibrationSettings
from dashboard import collect_perf
from dashboard.model import DashboardData, DatePoint, History, ModelTotal, Overview, RunInfo
from harness.errors import InputError
from harness.intervals import Interval, stratified_mean, wilson
from harness.records import CallRecord

T = TypeVar("T")

SCORE_RULE = (f"the calibration rule, as in the rankings: {SCORE_SOURCE_TEXT}; an item's repeats and variants "
              "count once, categories weigh equally")


def model_scores(records: Iterable[CallRecord], manual: ManualTotals) -> dict[str, Interval]:
    """Model -> its 0-100 score by calibration's rule (`calibration.scores`), as the rankings
    compute "overall": ok answers only, an item's repeats and variants one unit, categories
    weighing equally, with the interval. So the History and LLM tabs can never disagree with
    `rankings.json` about what a score is."""
    units: dict[str, dict[str, dict[tuple[str, str, str], list[float]]]] = {}
    for s in score_records(records, manual):
        unit = (SOURCE_GROUP[s.source], s.phase, s.item_id)
        units.setdefault(s.model, {}).setdefault(s.category, {}).setdefault(unit, []).append(s.score)
    return {model: stratified_mean([[sum(v) / len(v) for v in per.values()] for _, per in sorted(cats.items())],
                                   0.0, 100.0)
            for model, cats in sorted(units.items())}


def _points(scores: dict[str, Interval]) -> dict[str, float]:
    return {model: i.point for model, i in scores.items() if i.point is not None}


def mean_scores(records: Iterable[CallRecord], manual: ManualTotals) -> dict[str, float]:
    """Model -> the point of `model_scores`."""
    return _points(model_scores(records, manual))


def _success(ok: int, error: int) -> float | None:
    """Skipped calls are our decision, not the provider's failure (archive.stats' rule)."""
    return ok / (ok + error) if ok + error else None


def read_optional(path: Path, kind: type[T], notes: list[str]) -> T | None:
    """The file as `kind`; None when missing; a note (and None) when it cannot be read."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        notes.append(f"{path.name}: unreadable ({exc.strerror or exc})")
        return None
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.DecodeError as exc:
        notes.append(f"{path}: not a valid {kind.__name__} ({exc})")
        return None


def read_surprises(path: Path, notes: list[str]) -> list[Surprise]:
    """Every whole line; a torn last line (a killed writer) is skipped, other bad lines noted."""
    try:
        lines = path.read_bytes().split(b"\n")
    except FileNotFoundError:
        return []
    except OSError as exc:
        notes.append(f"{path.name}: unreadable ({exc.strerror or exc})")
        return []
    out: list[Surprise] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            out.append(msgspec.json.decode(raw, type=Surprise))
        except msgspec.DecodeError as exc:
            if number != len(lines):
                notes.append(f"{path}:{number}: skipped a bad line ({exc})")
    return out


def _read_runs(store: RunStore, unreadable: dict[str, str]) -> tuple[list[RunEntry], dict[str, RunDir]]:
    entries: list[RunEntry] = []
    dirs: dict[str, RunDir] = {}
    for run in store.list_runs():
        try:
            manifest = run.read_manifest()
            records = run.load_records()
        except InputError as exc:
            unreadable[run.run_id] = str(exc)
            continue
        parent = manifest.get("parent_run")
        entries.append(RunEntry(run_id=run.run_id, date=run.date, status=str(manifest.get("status") or "unknown"),
                                parent_run=parent if isinstance(parent, str) and parent else None,
                                created_at=str(manifest.get("created_at") or ""), n_records=len(records),
                                records=records))
        dirs[run.run_id] = run
    return entries, dirs


def _run_info(entry: RunEntry, manual: ManualTotals) -> RunInfo:
    ok = sum(1 for r in entry.records if r.status == "ok")
    error = sum(1 for r in entry.records if r.status == "error")
    return RunInfo(run_id=entry.run_id, date=entry.date, created_at=entry.created_at, status=entry.status,
                   parent_run=entry.parent_run, lineage=entry.lineage, records=entry.n_records, ok=ok,
                   error=error, skipped=entry.n_records - ok - error, success_rate=_success(ok, error),
                   models=sorted({r.model for r in entry.records}),
                   phases=sorted({r.phase for r in entry.records}),
                   mean_score=_points(scores := model_scores(entry.records, manual)), scores=scores)


def _date_points(entries: Sequence[RunEntry], manual: ManualTotals) -> list[DatePoint]:
    by_date: dict[str, list[RunEntry]] = {}
    for e in entries:
        by_date.setdefault(e.date, []).append(e)
    points: list[DatePoint] = []
    for date, runs in sorted(by_date.items()):
        records = [r for e in runs for r in e.records]
        ok = sum(1 for r in records if r.status == "ok")
        error = sum(1 for r in records if r.status == "error")
        points.append(DatePoint(date=date, runs=len(runs), records=len(records), success_rate=_success(ok, error),
                                mean_score=_points(scores := model_scores(records, manual)), scores=scores))
    return points


def model_totals(records: Sequence[CallRecord], manual: ManualTotals) -> list[ModelTotal]:
    groups: dict[str, list[CallRecord]] = {}
    for r in records:
        groups.setdefault(r.model, []).append(r)
    scores = model_scores(records, manual)
    out: list[ModelTotal] = []
    for model, recs in sorted(groups.items()):
        ok = sum(1 for r in recs if r.status == "ok")
        error = sum(1 for r in recs if r.status == "error")
        costs = [r.cost_usd for r in recs if r.cost_usd is not None]
        score = scores.get(model)
        success = wilson(ok, ok + error)
        out.append(ModelTotal(model=model, calls=len(recs), ok=ok, error=error, skipped=len(recs) - ok - error,
                              success_rate=_success(ok, error), success_low=success.lo, success_high=success.hi,
                              input_tokens=sum(r.input_tokens or 0 for r in recs),
                              output_tokens=sum(r.output_tokens or 0 for r in recs),
                              cost_usd=sum(costs) if costs else None,
                              scored=score.n if score else 0, mean_score=score.point if score else None,
                              score_low=score.lo if score and score.n else None,
                              score_high=score.hi if score and score.n else None))
    return out


def tool_thresholds(entries: Sequence[RunEntry], dirs: dict[str, RunDir]) -> tuple[float, float]:
    """The newest tool-use run's configured tiers (the manifest's config), else the defaults."""
    defaults = ToolUseSettings()
    for entry in sorted(entries, key=lambda e: (e.created_at, e.run_id), reverse=True):
        if not any(r.phase == collect_perf.TOOL_USE for r in entry.records):
            continue
        try:
            config: Any = dirs[entry.run_id].read_manifest().get("config")
            given = config.get("tool_use") if isinstance(config, dict) else None
            settings = ToolUseSettings.model_validate(given) if isinstance(given, dict) else defaults
        except (InputError, ValueError):
            settings = defaults
        return settings.tier1_min, settings.tier2_min
    return defaults.tier1_min, defaults.tier2_min


def collect(runs_dir: Path) -> DashboardData:
    """Everything the dashboard shows. A missing runs directory is bad input (exit 2)."""
    store = RunStore(runs_dir)
    if not store.runs_dir.is_dir():
        raise InputError(str(runs_dir), "no such run archive directory (run `fleetbench run` first)")
    unreadable: dict[str, str] = {}
    notes: list[str] = []
    entries, dirs = _read_runs(store, unreadable)
    lineages, winners = build_lineages(entries)
    ok = sum(1 for r in winners if r.status == "ok")
    error = sum(1 for r in winners if r.status == "error")
    overview = Overview(runs=len(entries), lineages=len(lineages), dates=sorted({e.date for e in entries}),
                        models=sorted({r.model for r in winners}), phases=sorted({r.phase for r in winners}),
                        calls=len(winners), ok=ok, error=error, skipped=len(winners) - ok - error,
                        success_rate=_success(ok, error), unreadable=unreadable)
    judges: list[JudgeComparison] = []
    for entry in sorted(entries, key=lambda e: (e.created_at, e.run_id)):
        comparison = read_optional(dirs[entry.run_id].path / JUDGE_COMPARISON_JSON, JudgeComparison, notes)
        if comparison is not None:
            judges.append(comparison)
    root = store.runs_dir
    tier1, tier2 = tool_thresholds(entries, dirs)
    ordered = sorted(entries, key=lambda e: (e.date, e.created_at, e.run_id))
    manual = manual_totals_by_run({run_id: run.path for run_id, run in dirs.items()},
                                  CalibrationSettings().rubric.weights)
    history = History(runs=[_run_info(e, manual) for e in ordered], dates=_date_points(ordered, manual),
                      weights=read_optional(root / ROUTING_WEIGHTS_JSON, RoutingWeights, notes),
                      surprises=read_surprises(root / SURPRISES_JSONL, notes))
    return DashboardData(
        generated_at=max((e.created_at for e in entries), default=""), runs_dir=str(root), score_rule=SCORE_RULE,
        overview=overview,
        model_totals=model_totals(winners, manual), phase_stats=summarize(winners),
        rankings=read_optional(root / RANKINGS_JSON, Rankings, notes),
        selection=read_optional(root / SELECTION_JSON, Selection, notes), judges=judges,
        latency=collect_perf.latency(winners), long_context=collect_perf.long_context(winners),
        tool_use=collect_perf.tool_use(winners, tier1, tier2), history=history, notes=notes)
