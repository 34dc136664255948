"""`stages` (seed 000): a pipeline's stages, each with its own candidate models.

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
from collections.abc import Sequence

from agents.phases.base import PlanContext
from agents.phases.baseline import BaselinePhase
from agents.plan import WorkItem, build_request, expand_repeats
from agents.suite import load_suite
from archive.summary_md import fmt_ms, fmt_pct
from harness.model_ref import ModelRef
from harness.records import CallRecord
from harness.timing import percentile

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

    def summary_section(self, records: Sequence[CallRecord]) -> str | None:
        if not records:
            return None
        lines = ["| stage | model | calls | completed | E2E p50 ms | tokens out (mean) | adherence |",
                 "|---|---|---:|---:|---:|---:|---:|"]
        best: dict[str, tuple[tuple[float, float, float], str]] = {}
        for stage in STAGES:
            for model in sorted({r.model for r in records if r.variant == stage}):
                mine = [r for r in records if r.variant == stage and r.model == model]
                ok = [r for r in mine if r.status == "ok"]
                done = len(ok) / len(mine)
                e2e = percentile([r.e2e_ms for r in ok if r.e2e_ms is not None], 50)
                tokens = sum(r.output_tokens or 0 for r in ok) / len(ok) if ok else None
                scores = [float(v) for r in ok if isinstance(v := r.extra.get("adherence"), (int, float))]
                adherence = sum(scores) / len(scores) if scores else None
                lines.append(f"| {stage} | {model} | {len(mine)} | {fmt_pct(done)} | {fmt_ms(e2e)} | "
                             f"{'-' if tokens is None else f'{tokens:.0f}'} | {fmt_pct(adherence)} |")
                rank = (done, adherence or 0.0, -(e2e or float("inf")))
                if stage not in best or rank > best[stage][0]:
                    best[stage] = (rank, model)
        lines += ["", "Recommended defaults (completion, then constraint adherence, then E2E p50):", "",
                  "| stage | variable | recommended model |", "|---|---|---|"]
        lines += [f"| {stage} | `{STAGE_ENV[stage]}` | {best[stage][1]} |" for stage in STAGES if stage in best]
        return "\n".join(lines)
