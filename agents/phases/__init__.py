"""Phase registry: names exactly as users type them after `--phase`."""

from __future__ import annotations

from agents.config import FleetConfig
from agents.phases.base import Phase, PlanContext
from agents.phases.baseline import BaselinePhase
from agents.phases.long_context import LongContextPhase
from agents.phases.model_sets import ClaudeRunsPhase, CodexRetryPhase
from agents.phases.stages import StagesPhase
from agents.phases.streaming_ttft import StreamingTTFTPhase
from agents.phases.tool_use import ToolUsePhase
from harness.errors import InputError

PHASES: dict[str, type[Phase]] = {
    BaselinePhase.name: BaselinePhase,
    ToolUsePhase.name: ToolUsePhase,
    CodexRetryPhase.name: CodexRetryPhase,
    ClaudeRunsPhase.name: ClaudeRunsPhase,
    StagesPhase.name: StagesPhase,
    LongContextPhase.name: LongContextPhase,
    StreamingTTFTPhase.name: StreamingTTFTPhase,
}

# with no --phase: the seed's order of priority (baseline, 2A, 2B, 3C, 4D, 5E)
DEFAULT_ORDER: list[str] = ["baseline", "codex-retry", "claude-runs", "long-context", "tool-use", "streaming-ttft"]


def make_phase(name: str, config: FleetConfig | None = None) -> Phase:
    try:
        phase = PHASES[name]()
    except KeyError:
        known = ", ".join(sorted(PHASES))
        raise InputError("--phase", f"unknown phase {name!r} (known: {known})") from None
    phase.configure(config if config is not None else FleetConfig())
    return phase


__all__ = ["DEFAULT_ORDER", "PHASES", "Phase", "PlanContext", "make_phase"]
