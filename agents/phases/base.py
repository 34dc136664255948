"""What a phase is: a plan of work items, a scorer for outputs, and a summary section.

Why a small class per phase: phases differ in what they ask and how they judge it, not in
how calls are made; the call path (limiter, retries, timing, records) is shared.

Why the section is a state (`section_state`, protocol in `archive/section_state.py`): the
aggregate renders each phase's section over every run without holding every record, by
folding records into a state, merging states across runs and rendering once. A run's
`summary_section(records)` is that same fold and render.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agents.config import FleetConfig
from agents.plan import WorkItem
from agents.suite import LoadedSuite
from archive.section_state import SectionState, fold
from harness.model_ref import ModelRef
from harness.records import CallRecord
from harness.seam import ProviderResponse


@dataclass(frozen=True)
class PlanContext:
    """Everything a phase needs to plan: resolved, validated inputs."""

    suites: Sequence[LoadedSuite]
    models: Sequence[ModelRef]
    config: FleetConfig
    limit: int | None = None
    repeat: int = 1
    options: dict[str, object] = field(default_factory=dict)
    # `provider/model` -> its context window in tokens, where the catalogue knows it
    context_windows: Mapping[str, int] = field(default_factory=dict)


class Phase:
    """Base phase. Subclasses set `name` and override `plan`; scoring and the summary
    section have sensible defaults."""

    name: str = ""
    description: str = ""

    def configure(self, config: FleetConfig) -> None:
        """Take policy from the config (thresholds...). Called before `plan` and by the
        collector before `summary_section`, which has no plan context."""

    def plan(self, ctx: PlanContext) -> list[WorkItem]:
        raise NotImplementedError

    def quick_options(self, ctx: PlanContext) -> dict[str, object]:
        """The quick plan's defaults for this phase (its options, and `limit`: items per
        suite), under anything the user gave. Why per phase: each phase knows which few
        calls still answer its question; the full plan is the phase's plain defaults."""
        return {}

    def score(self, item: WorkItem, response: ProviderResponse) -> dict[str, object]:
        """Extra per-record fields (constraint results, tool-call verdicts...), stored in
        `record.extra`. Gets the whole response: text, tool calls, token counts."""
        return {}

    def section_state(self, data: object = None) -> SectionState | None:
        """This phase's own summary section as a mergeable state: a fresh one when `data` is
        None, else one restored from its `to_builtins()` form. None: the phase has no
        section. Policy taken in `configure` (thresholds) applies when the state renders."""
        return None

    def summary_section(self, records: Sequence[CallRecord]) -> str | None:
        """Markdown for this phase in the run summary; None keeps just the stats table.
        Works from records alone (the collector has no plan state): the section state
        folded over them and rendered."""
        state = self.section_state()
        return None if state is None else fold(state, records).render()

    def write_artifacts(self, run_dir: Path, records: Sequence[CallRecord]) -> list[str]:
        """Files this phase adds to the run directory (plots, tables); returns their names."""
        return []
