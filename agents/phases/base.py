"""What a phase is: a plan of work items, a scorer for outputs, and a summary section.

Why a small class per phase: phases differ in what they ask and how they judge it, not in
how calls are made; the call path (limiter, retries, timing, records) is shared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from agents.config import FleetConfig
from agents.plan import WorkItem
from agents.suite import LoadedSuite
from harness.model_ref import ModelRef
from harness.records import CallRecord


@dataclass(frozen=True)
class PlanContext:
    """Everything a phase needs to plan: resolved, validated inputs."""

    suites: Sequence[LoadedSuite]
    models: Sequence[ModelRef]
    config: FleetConfig
    limit: int | None = None
    repeat: int = 1
    options: dict[str, object] = field(default_factory=dict)


class Phase:
    """Base phase. Subclasses set `name` and override `plan`; scoring and the summary
    section have sensible defaults."""

    name: str = ""
    description: str = ""

    def plan(self, ctx: PlanContext) -> list[WorkItem]:
        raise NotImplementedError

    def score(self, item: WorkItem, output: str) -> dict[str, object]:
        """Extra per-record fields (constraint results etc.), stored in `record.extra`."""
        return {}

    def summary_section(self, records: Sequence[CallRecord]) -> str | None:
        """Markdown for this phase in the run summary; None keeps just the stats table."""
        return None
