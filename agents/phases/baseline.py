"""`baseline`: every suite item on every chosen model, scored against its constraints."""

from __future__ import annotations

from collections.abc import Sequence

from agents.phases.base import Phase, PlanContext
from agents.plan import WorkItem, build_request, expand_repeats
from agents.suite import SuiteItem
from harness.records import CallRecord
from harness.scorers import adherence, check_constraints
from harness.seam import ProviderResponse


class BaselinePhase(Phase):
    name = "baseline"
    description = "the suite on the chosen models, with machine-checked constraints"

    QUICK_ITEMS = 4  # four formats (router JSON, nested JSON, a command, bullets) per model

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

    def summary_section(self, records: Sequence[CallRecord]) -> str | None:
        scored = [r for r in records if r.status == "ok" and "adherence" in r.extra]
        if not scored:
            return None
        by_model: dict[str, list[float]] = {}
        for r in scored:
            value = r.extra["adherence"]
            if isinstance(value, (int, float)):
                by_model.setdefault(r.model, []).append(float(value))
        lines = ["| model | scored calls | constraint adherence |", "|---|---:|---:|"]
        for model, values in sorted(by_model.items()):
            lines.append(f"| {model} | {len(values)} | {100 * sum(values) / len(values):.1f}% |")
        return "\n".join(lines)
