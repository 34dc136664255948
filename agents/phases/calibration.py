"""`calibration` (seed 001): the calibration tasks on every model, rubric-scored on arrival.

Why score in the phase: the automatic rubric needs only the output and the task, so every
record carries `extra["rubric"]` and rankings/EMA can use it at once; `fleetbench score
--manual RUN_ID` adds a human's scores later, which then take precedence
(`calibration/scores.py`). The tasks and the rubric weights are captured at plan time: the
phase object travels to its subagent, which scores with exactly what was planned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from agents.config import FleetConfig
from agents.phases.base import Phase, PlanContext
from agents.plan import WorkItem, build_request, expand_repeats
from calibration.rubric import auto_score, band
from calibration.tasks import CalibrationTask, load_calibration_tasks
from harness.records import CallRecord
from harness.seam import ProviderResponse

TASKS_OPTION = "calibration_tasks"  # RunSpec.options key: a tasks YAML instead of the packaged one


def rubric_total(record: CallRecord) -> float | None:
    """The automatic rubric total of an ok record, if it has one."""
    rubric = record.extra.get("rubric")
    if record.status != "ok" or not isinstance(rubric, dict):
        return None
    total = rubric.get("total")
    return float(total) if isinstance(total, (int, float)) and not isinstance(total, bool) else None


class CalibrationPhase(Phase):
    name = "calibration"
    description = "coding tasks on every model, scored on the 100-point rubric"

    def __init__(self) -> None:
        self._tasks: dict[str, CalibrationTask] = {}
        self._weights: dict[str, int] = {}

    def configure(self, config: FleetConfig) -> None:
        self._weights = dict(config.calibration.rubric.weights)

    def plan(self, ctx: PlanContext) -> list[WorkItem]:
        self.configure(ctx.config)
        path = ctx.options.get(TASKS_OPTION)
        tasks = load_calibration_tasks(Path(str(path)) if path else None)
        items: list[WorkItem] = []
        for task in tasks[: ctx.limit] if ctx.limit else tasks:
            self._tasks[task.id] = task
            for model in ctx.models:
                request = build_request(model, task.prompt, system=None, max_tokens=task.max_tokens,
                                        temperature=0.0, stream=True,
                                        timeout_s=ctx.config.timeout_for(model.provider))
                items.append(WorkItem(phase=self.name, item_id=task.id, model=str(model), category=task.category,
                                      request=request))
        return expand_repeats(items, ctx.repeat)

    def score(self, item: WorkItem, response: ProviderResponse) -> dict[str, object]:
        task = self._tasks.get(item.item_id)
        if task is None:  # not planned by this phase object: nothing to score against
            return {}
        return {"rubric": auto_score(response.text, task, self._weights).as_extra()}

    def summary_section(self, records: Sequence[CallRecord]) -> str | None:
        """Per model: answers scored, mean total and its band; then mean total per category."""
        totals: dict[str, list[float]] = defaultdict(list)
        cells: dict[tuple[str, str], list[float]] = defaultdict(list)
        for r in records:
            if r.phase == self.name and (total := rubric_total(r)) is not None:
                totals[r.model].append(total)
                cells[(r.model, r.category)].append(total)
        if not totals:
            return None
        lines = ["**Rubric (automatic)**", "", "| model | answers | mean score | band |", "|---|---:|---:|---|"]
        for model, values in sorted(totals.items()):
            mean = sum(values) / len(values)
            lines.append(f"| {model} | {len(values)} | {mean:.1f} | {band(mean)} |")
        categories = sorted({c for _, c in cells})
        lines += ["", "Mean score per category:", "", "| model | " + " | ".join(categories) + " |",
                  "|---|" + "---:|" * len(categories)]
        for model in sorted(totals):
            row = [cells.get((model, c)) for c in categories]
            lines.append(f"| {model} | " + " | ".join(f"{sum(v) / len(v):.1f}" if v else "–" for v in row) + " |")
        return "\n".join(lines)
