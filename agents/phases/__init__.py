"""Phase registry: names exactly as users type them after `--phase`."""

from __future__ import annotations

from agents.config import FleetConfig
from agents.phases.base import Phase, PlanContext
from agents.phases.baseline import BaselinePhase
from agents.phases.calibration import CalibrationPhase
from agents.phases.judges import GenerationPhase, JudgeProductionPhase
from agents.phases.judges_bench import JudgeBenchPhase
from agents.phases.long_context import LongContextPhase
from agents.phases.model_sets import ClaudeRunsPhase, CodexRetryPhase
from agents.phases.stages import StagesPhase
from agents.phases.streaming_ttft import StreamingTTFTPhase
from agents.phases.tool_use import ToolUsePhase
from archive.section_state import SectionFactory
from archive.stats_md import SectionHook
from harness.errors import InputError

PHASES: dict[str, type[Phase]] = {
    BaselinePhase.name: BaselinePhase,
    ToolUsePhase.name: ToolUsePhase,
    CodexRetryPhase.name: CodexRetryPhase,
    ClaudeRunsPhase.name: ClaudeRunsPhase,
    StagesPhase.name: StagesPhase,
    LongContextPhase.name: LongContextPhase,
    StreamingTTFTPhase.name: StreamingTTFTPhase,
    CalibrationPhase.name: CalibrationPhase,  # the rubric-scored coding tasks
    # the model lab: run by `fleetbench sweep`; judge-bench needs a source run
    GenerationPhase.name: GenerationPhase,
    JudgeBenchPhase.name: JudgeBenchPhase,
    JudgeProductionPhase.name: JudgeProductionPhase,
}

# with no --phase: the phases in the order a team takes them (baseline first)
DEFAULT_ORDER: list[str] = ["baseline", "codex-retry", "claude-runs", "long-context", "tool-use", "streaming-ttft"]


def make_phase(name: str, config: FleetConfig | None = None) -> Phase:
    try:
        phase = PHASES[name]()
    except KeyError:
        known = ", ".join(sorted(PHASES))
        raise InputError("--phase", f"unknown phase {name!r} (known: {known})") from None
    phase.configure(config if config is not None else FleetConfig())
    return phase


def section_hooks(config: FleetConfig | None = None) -> dict[str, SectionHook]:
    """Every registered phase's own summary section, so the aggregate over all runs shows
    the same per-phase tables (adherence by length, tool tiers...) as each run's summary."""
    return {name: make_phase(name, config).summary_section for name in PHASES}


def section_states(config: FleetConfig | None = None) -> dict[str, SectionFactory]:
    """Every registered phase's section-state factory (fresh with None, restored from
    builtins otherwise): what the aggregate folds, caches per lineage and merges."""
    return {name: make_phase(name, config).section_state for name in PHASES}


__all__ = ["DEFAULT_ORDER", "PHASES", "Phase", "PlanContext", "make_phase", "section_hooks", "section_states"]
