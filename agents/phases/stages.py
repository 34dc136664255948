"""`stages`: a pipeline's stages, each with its own candidate models.

Stages are context summary, retrieval brief and execution plan (`suites/stages.yaml`, one
item per stage, each with machine-checked constraints). Candidates per stage come from
`--context-models/--retrieval-models/--execution-models`, else `CONTEXT_MODEL`,
`RETRIEVAL_MODEL`, `EXECUTION_MODEL` (comma-separated), else the run's models.

Why each stage on a fixed input rather than chained outputs: a stage's score then depends
on that stage's model only, so a cheap model can be recommended for one stage and a strong
one for another. The record's `variant` is the stage.
"""

from __future__ import annotations

import os

import msgspec

from agents.phases.base import PlanContext
from agents.phases.baseline import BaselinePhase
from agents.plan import WorkItem, build_request, expand_repeats
from agents.suite import load_suite
from archive.latency import Latencies
from archive.mergeable import Mean, merge_keyed
from archive.section_state import RecordView
from archive.stats_md import fmt_ms, fmt_pct
from harness.model_ref import ModelRef

STAGES = ("context-summary", "retrieval-brief", "execution-plan")
STAGE_ENV = {"context-summary": "CONTEXT_MODEL", "retrieval-brief": "RETRIEVAL_MODEL",
             "execution-plan": "EXECUTION_MODEL"}


def stage_candidates(ctx: PlanContext) -> dict[str, list[ModelRef]]:
    given = ctx.options.get("stage_models")
    chosen: dict[str, list[ModelRef]] = {}
    for stage in STAGES:
        names = (given or {}).get(stage) if isinstance(given, dict) else None
        if not names and os.environ.get(STAGE_ENV[stage]):
            names = os.environ[STAGE_ENV[stage]].split(",")
        chosen[stage] = [ModelRef.parse(n, STAGE_ENV[stage]) for n in names if n.strip()] if names \
            else list(ctx.models)
    return chosen


class _StageCell:
    """One (stage, model): calls, completed calls, their E2E, output tokens and adherence."""

    __slots__ = ("adherence", "calls", "e2e", "ok", "tokens")

    def __init__(self) -> None:
        self.calls = self.ok = self.tokens = 0
        self.e2e = Latencies()
        self.adherence = Mean()

    def merge(self, other: _StageCell) -> None:
        self.calls += other.calls
        self.ok += other.ok
        self.tokens += other.tokens
        self.e2e.merge(other.e2e)
        self.adherence.merge(other.adherence)


class _StageCellData(msgspec.Struct, array_like=True):
    calls: int
    ok: int
    tokens: int
    e2e: dict[str, bytes]
    adherence: tuple[int, float]


class StagesSection:
    """Per stage x model: completion, E2E p50, mean output tokens, adherence; then the
    recommended model per stage."""

    def __init__(self, data: object = None) -> None:
        self.records = 0
        self.cells: dict[tuple[str, str], _StageCell] = {}
        if data is not None:
            records, cells = msgspec.convert(data, tuple[int, list[tuple[str, str, _StageCellData]]])
            self.records = records
            for stage, model, cell in cells:
                mine = self.cells[(stage, model)] = _StageCell()
                mine.calls, mine.ok, mine.tokens = cell.calls, cell.ok, cell.tokens
                mine.e2e, mine.adherence = Latencies.from_builtins(cell.e2e), Mean(*cell.adherence)

    def add(self, record: RecordView) -> None:
        self.records += 1
        if record.variant not in STAGES:
            return
        cell = self.cells.get((record.variant, record.model))
        if cell is None:
            cell = self.cells[(record.variant, record.model)] = _StageCell()
        cell.calls += 1
        if record.status != "ok":
            return
        cell.ok += 1
        if record.e2e_ms is not None:
            cell.e2e.add(record.e2e_ms)
        cell.tokens += record.output_tokens or 0
        if isinstance(value := record.extra.get("adherence"), (int, float)):
            cell.adherence.add(float(value))

    def merge(self, other: StagesSection) -> None:
        self.records += other.records
        merge_keyed(self.cells, other.cells, _StageCell)

    def render(self) -> str | None:
        if not self.records:
            return None
        lines = ["| stage | model | calls | completed | E2E p50 ms | tokens out (mean) | adherence |",
                 "|---|---|---:|---:|---:|---:|---:|"]
        best: dict[str, tuple[tuple[float, float, float], str]] = {}
        for stage in STAGES:
            for model in sorted(m for s, m in self.cells if s == stage):
                cell = self.cells[(stage, model)]
                done = cell.ok / cell.calls
                e2e = cell.e2e.percentile(50)
                tokens = cell.tokens / cell.ok if cell.ok else None
                adherence = cell.adherence.value
                lines.append(f"| {stage} | {model} | {cell.calls} | {fmt_pct(done)} | {fmt_ms(e2e)} | "
                             f"{'-' if tokens is None else f'{tokens:.0f}'} | {fmt_pct(adherence)} |")
                rank = (done, adherence or 0.0, -(e2e or float("inf")))
                if stage not in best or rank > best[stage][0]:
                    best[stage] = (rank, model)
        lines += ["", "Recommended defaults (completion, then constraint adherence, then E2E p50):", "",
                  "| stage | variable | recommended model |", "|---|---|---|"]
        lines += [f"| {stage} | `{STAGE_ENV[stage]}` | {best[stage][1]} |" for stage in STAGES if stage in best]
        return "\n".join(lines)

    def to_builtins(self) -> object:
        cells = [(stage, model, _StageCellData(c.calls, c.ok, c.tokens, c.e2e.to_builtins(), (c.adherence.n, c.adherence.total)))
                 for (stage, model), c in self.cells.items()]
        return msgspec.to_builtins([self.records, cells], builtin_types=(bytes,))


class StagesPhase(BaselinePhase):
    name = "stages"
    description = "context summary, retrieval brief, execution plan: candidate models per stage"

    def plan(self, ctx: PlanContext) -> list[WorkItem]:
        suite = load_suite("stages").suite
        candidates = stage_candidates(ctx)
        items: list[WorkItem] = []
        for suite_item in suite.items:
            self._items[suite_item.id] = suite_item
            for model in candidates.get(suite_item.category, []):
                request = build_request(model, suite_item.prompt, system=suite_item.system,
                                        max_tokens=suite_item.max_tokens or suite.defaults.max_tokens,
                                        temperature=suite.defaults.temperature, stream=True,
                                        timeout_s=ctx.config.timeout_for(model.provider))
                items.append(WorkItem(phase=self.name, item_id=suite_item.id, model=str(model),
                                      variant=suite_item.category, category=suite_item.category,
                                      request=request))
        return expand_repeats(items, ctx.repeat)

    def section_state(self, data: object = None) -> StagesSection:
        return StagesSection(data)
