"""`calibration`: the calibration tasks on every model, rubric-scored on arrival.

Why score in the phase: the automatic rubric needs only the output and the task, so every
record carries `extra["rubric"]` and rankings/EMA can use it at once; `fleetbench score
--manual RUN_ID` adds a human's scores later, which then take precedence
(`calibration/scores.py`). The tasks and the rubric weights are captured at plan time: the
phase object travels to its subagent, which scores with exactly what was planned.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from agents.config import FleetConfig
from agents.phases.base import Phase, PlanContext
from agents.plan import WorkItem, build_request, expand_repeats
from archive.mergeable import Mean, merge_keyed
from archive.section_state import RecordView
from calibration.rubric import auto_score, band
from calibration.tasks import CalibrationTask, load_calibration_tasks
from harness.seam import ProviderResponse

TASKS_OPTION = "calibration_tasks"  # RunSpec.options key: a tasks YAML instead of the packaged one


def rubric_total(record: RecordView) -> float | None:
    """The automatic rubric total of an ok record, if it has one."""
    rubric = record.extra.get("rubric")
    if record.status != "ok" or not isinstance(rubric, dict):
        return None
    total = rubric.get("total")
    return float(total) if isinstance(total, (int, float)) and not isinstance(total, bool) else None


class RubricSection:
    """Per model: answers scored, mean automatic rubric total and its band; then the mean
    total per category."""

    def __init__(self, phase: str, data: object = None) -> None:
        self.phase = phase
        self.totals: dict[str, Mean] = {}
        self.cells: dict[tuple[str, str], Mean] = {}
        if data is not None:
            totals, cells = msgspec.convert(data, tuple[dict[str, tuple[int, float]], list[tuple[str, str, int, float]]])
            self.totals = {model: Mean(n, total) for model, (n, total) in totals.items()}
            self.cells = {(model, category): Mean(n, total) for model, category, n, total in cells}

    def add(self, record: RecordView) -> None:
        if record.phase != self.phase or (total := rubric_total(record)) is None:
            return
        self.totals.setdefault(record.model, Mean()).add(total)
        self.cells.setdefault((record.model, record.category), Mean()).add(total)

    def merge(self, other: RubricSection) -> None:
        merge_keyed(self.totals, other.totals, Mean)
        merge_keyed(self.cells, other.cells, Mean)

    def render(self) -> str | None:
        if not self.totals:
            return None
        lines = ["**Rubric (automatic)**", "", "| model | answers | mean score | band |", "|---|---:|---:|---|"]
        for model, values in sorted(self.totals.items()):
            mean = values.total / values.n
            lines.append(f"| {model} | {values.n} | {mean:.1f} | {band(mean)} |")
        categories = sorted({c for _, c in self.cells})
        lines += ["", "Mean score per category:", "", "| model | " + " | ".join(categories) + " |",
                  "|---|" + "---:|" * len(categories)]
        for model in sorted(self.totals):
            row = [self.cells.get((model, c)) for c in categories]
            lines.append(f"| {model} | " + " | ".join(f"{v.total / v.n:.1f}" if v else "–" for v in row) + " |")
        return "\n".join(lines)

    def to_builtins(self) -> object:
        return [{model: mean.to_builtins() for model, mean in self.totals.items()},
                [[model, category, mean.n, mean.total] for (model, category), mean in self.cells.items()]]


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

    def section_state(self, data: object = None) -> RubricSection:
        """Per model: answers scored, mean total and its band; then mean total per category."""
        return RubricSection(self.name, data)
