"""`baseline`: every suite item on every chosen model, scored against its constraints."""

from __future__ import annotations

import msgspec

from agents.phases.base import Phase, PlanContext
from agents.plan import WorkItem, build_request, expand_repeats
from agents.suite import SuiteItem
from archive.mergeable import Mean, merge_keyed
from archive.section_state import RecordView, SectionState
from harness.scorers import adherence, check_constraints
from harness.seam import ProviderResponse


class AdherenceSection:
    """Constraint adherence per model over the ok calls that were scored against constraints."""

    def __init__(self, data: object = None) -> None:
        self.scored = 0  # ok calls with an adherence field, numeric or not
        self.by_model: dict[str, Mean] = {}
        if data is not None:
            scored, by_model = msgspec.convert(data, tuple[int, dict[str, tuple[int, float]]])
            self.scored = scored
            self.by_model = {model: Mean(n, total) for model, (n, total) in by_model.items()}

    def add(self, record: RecordView) -> None:
        if record.status != "ok" or "adherence" not in record.extra:
            return
        self.scored += 1
        value = record.extra["adherence"]
        if isinstance(value, (int, float)):
            mean = self.by_model.get(record.model)
            if mean is None:
                mean = self.by_model[record.model] = Mean()
            mean.add(float(value))

    def merge(self, other: AdherenceSection) -> None:
        self.scored += other.scored
        merge_keyed(self.by_model, other.by_model, Mean)

    def render(self) -> str | None:
        if not self.scored:
            return None
        lines = ["| model | scored calls | constraint adherence |", "|---|---:|---:|"]
        for model, mean in sorted(self.by_model.items()):
            lines.append(f"| {model} | {mean.n} | {100 * mean.total / mean.n:.1f}% |")
        return "\n".join(lines)

    def to_builtins(self) -> object:
        return [self.scored, {model: mean.to_builtins() for model, mean in self.by_model.items()}]


class BaselinePhase(Phase):
    name = "baseline"
    description = "the suite on the chosen models, with machine-checked constraints"

    QUICK_ITEMS = 4  # four formats (router JSON, a label, a command, bullets) per model

    def __init__(self) -> None:
        self._items: dict[str, SuiteItem] = {}

    def quick_options(self, ctx: PlanContext) -> dict[str, object]:
        return {"limit": self.QUICK_ITEMS}

    def plan(self, ctx: PlanContext) -> list[WorkItem]:
        items: list[WorkItem] = []
        for loaded in ctx.suites:
            suite = loaded.suite
            chosen = suite.items[: ctx.limit] if ctx.limit else suite.items
            for suite_item in chosen:
                self._items[suite_item.id] = suite_item
                for model in ctx.models:
                    request = build_request(
                        model, suite_item.prompt, system=suite_item.system,
                        max_tokens=suite_item.max_tokens or suite.defaults.max_tokens,
                        temperature=suite_item.temperature if suite_item.temperature is not None
                        else suite.defaults.temperature,
                        stream=suite_item.stream if suite_item.stream is not None else suite.defaults.stream,
                        timeout_s=ctx.config.timeout_for(model.provider),
                    )
                    items.append(WorkItem(phase=self.name, item_id=suite_item.id, model=str(model),
                                          category=suite_item.category, request=request))
        return expand_repeats(items, ctx.repeat)

    def score(self, item: WorkItem, response: ProviderResponse) -> dict[str, object]:
        suite_item = self._items.get(item.item_id)
        if suite_item is None or not suite_item.constraints:
            return {}
        results = check_constraints(response.text, suite_item.constraints)
        return {
            "constraints": [{"type": r.type, "passed": r.passed, "detail": r.detail} for r in results],
            "adherence": adherence(results),
        }

    def section_state(self, data: object = None) -> SectionState:
        return AdherenceSection(data)
