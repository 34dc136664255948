"""Phases that are the baseline suite on a fixed set of hosted models, with a verdict.

- `claude-runs`: Claude Haiku and Opus through the Messages API and the
  Claude Agent SDK; success criterion: >= 90 % successful calls. Without a key the models
  are left out with `no_access` records and the phase reports "no access", not a failure.
- `codex-retry`: the suite on the Codex model at reasoning effort high and
  low under the backoff policy; a run's leftovers are redone with `fleetbench retry RUN_ID`.

Why subclasses of the baseline: same items and constraint scoring; only the default
models and the verdict differ. Models of the phase's providers named with `--models`
replace the defaults.
"""

from __future__ import annotations

import msgspec

from agents.phases.base import PlanContext
from agents.phases.baseline import AdherenceSection, BaselinePhase
from agents.plan import WorkItem
from archive.section_state import RecordView
from harness.model_ref import ModelRef

_STATUS_INDEX = {"ok": 0, "error": 1, "skipped": 2}


class ModelSetSection:
    """Per model: ok / error / skipped and the verdict against the success threshold, then
    the baseline's constraint adherence."""

    def __init__(self, success_threshold: float, data: object = None) -> None:
        self.success_threshold = success_threshold
        self.counts: dict[str, list[int]] = {}  # model -> [ok, error, skipped]
        self.adherence = AdherenceSection()
        if data is not None:
            counts, adherence = msgspec.convert(data, tuple[dict[str, list[int]], object])
            self.counts, self.adherence = counts, AdherenceSection(adherence)

    def add(self, record: RecordView) -> None:
        counts = self.counts.get(record.model)
        if counts is None:
            counts = self.counts[record.model] = [0, 0, 0]
        if (index := _STATUS_INDEX.get(record.status)) is not None:
            counts[index] += 1
        if record.status == "ok":  # adherence is over ok calls only
            self.adherence.add(record)

    def merge(self, other: ModelSetSection) -> None:
        for model, theirs in other.counts.items():
            mine = self.counts.setdefault(model, [0, 0, 0])
            for i, n in enumerate(theirs):
                mine[i] += n
        self.adherence.merge(other.adherence)

    def render(self) -> str | None:
        lines = [f"| model | ok | error | skipped | success rate | >= {self.success_threshold:.0%} |",
                 "|---|---:|---:|---:|---:|---|"]
        for model, (ok, error, skipped) in sorted(self.counts.items()):
            if ok + error == 0:
                verdict, rate = "no access", "-"
            else:
                share = ok / (ok + error)
                verdict, rate = ("pass" if share >= self.success_threshold else "fail"), f"{share:.1%}"
            lines.append(f"| {model} | {ok} | {error} | {skipped} | {rate} | {verdict} |")
        adherence = self.adherence.render()
        return "\n".join(lines) + ("\n\n" + adherence if adherence else "")

    def to_builtins(self) -> object:
        return [self.counts, self.adherence.to_builtins()]


class ModelSetPhase(BaselinePhase):
    default_models: tuple[str, ...] = ()
    success_threshold: float = 0.9

    def plan(self, ctx: PlanContext) -> list[WorkItem]:
        """The phase's own models, unless the run named models of the phase's providers
        (then just those): `--models sim/a` in a default plan leaves claude-runs alone."""
        defaults = [ModelRef.parse(m) for m in self.default_models]
        providers = {m.provider for m in defaults}
        named = [m for m in ctx.models if m.provider in providers] if ctx.options.get("models_explicit") else []
        ctx = PlanContext(suites=ctx.suites, models=named or defaults, config=ctx.config, limit=ctx.limit,
                          repeat=ctx.repeat, options=ctx.options)
        return super().plan(ctx)

    def section_state(self, data: object = None) -> ModelSetSection:
        return ModelSetSection(self.success_threshold, data)


class ClaudeRunsPhase(ModelSetPhase):
    name = "claude-runs"
    description = "Claude Haiku and Opus via the Messages API and the Agent SDK; >= 90% success"
    default_models = ("anthropic/claude-haiku-4-5", "anthropic/claude-opus-4-1",
                      "claude-sdk/claude-haiku-4-5", "claude-sdk/claude-opus-4-1")


class CodexRetryPhase(ModelSetPhase):
    name = "codex-retry"
    description = "the Codex model at reasoning effort high and low, under the backoff policy"
    default_models = ("openai/gpt-5-codex@high", "openai/gpt-5-codex@low")
