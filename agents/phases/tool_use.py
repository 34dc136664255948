"""`tool-use`: function-calling accuracy per model and per prompt variant, BFCL-style.

Why variants: local models are "Tier 3" (tool-incapable) with a plain prompt; the question is
whether few-shot examples, XML tool definitions or step-by-step instructions lift them, and
by how much. Each variant is its own record key, so the summary compares variants on the
same items (paired bootstrap) and reports a tier from the best variant.

Why two modes: hosted APIs take `tools` natively; the embedded/Ollama models refuse them, so
there the tools are described in the prompt and the reply must be JSON (or `<tool_call>` XML).
Calls are never executed; the scorer only reads them.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

import msgspec

from agents.config import FleetConfig
from agents.phases.base import Phase, PlanContext
from agents.phases.resample import integral, resampled_means
from agents.plan import WorkItem, build_request, expand_repeats
from agents.suite import load_suite
from archive.section_state import RecordView
from harness.errors import InputError
from harness.model_ref import ModelRef
from harness.providers.registry import capabilities_of
from harness.seam import ProviderResponse
from harness.tool_scoring import (
    FAILURE_CLASSES,
    ExpectedCall,
    PromptStyle,
    score_calls,
    score_prompt_mode,
)

VARIANTS: tuple[str, ...] = ("baseline", "few-shot", "xml-tools", "step-by-step")

_BASE = ("You are an assistant that can call tools. When a tool fits the user's request, call it "
         "with arguments taken from the request. If no tool fits, answer in plain text without "
         "calling any tool.")
_JSON_FORMAT = ("To call a tool, reply with only a JSON object {\"name\": <tool name>, \"arguments\": "
                "{...}} and nothing else; for several calls, reply with only a JSON list of such objects.")
_XML_FORMAT = ("To call a tool, reply with only <tool_call>{\"name\": <tool name>, \"arguments\": {...}}"
               "</tool_call>, one block per call, and nothing else.")
_FEW_SHOT = (
    "Examples (the tools in them are illustrative; use only the tools offered below):\n"
    "User: Set a timer for 10 minutes.\n"
    "Tools: set_timer(minutes: integer)\n"
    "Reply: {call_a}\n"
    "User: Remind me to call Sam at 5pm, and set a timer for 3 minutes.\n"
    "Tools: set_timer(minutes: integer), add_reminder(text: string, time: string)\n"
    "Reply: {call_b}\n"
    "User: Tell me a joke.\n"
    "Tools: set_timer(minutes: integer)\n"
    "Reply: Why did the scarecrow win an award? He was outstanding in his field.")
_STEPS = ("Work step by step: 1) decide whether any offered tool fits the request; 2) if one does, "
          "pick it; 3) fill every required argument from the request, with the exact types the "
          "schema demands, and add no other arguments; 4) give the call. You may reason first "
          "inside <thinking>...</thinking>; after it, give only the answer.")


def _fn(tool: dict[str, Any]) -> dict[str, Any]:
    fn = tool.get("function")
    return fn if isinstance(fn, dict) else tool


def tool_names(tools: Sequence[dict[str, Any]]) -> list[str]:
    return [str(_fn(t).get("name", "")) for t in tools]


def render_tools_json(tools: Sequence[dict[str, Any]]) -> str:
    return "Tools:\n" + "\n".join(json.dumps(_fn(t), sort_keys=True) for t in tools)


def render_tools_xml(tools: Sequence[dict[str, Any]]) -> str:
    """Tools as XML: some small models follow tagged structure better than nested JSON."""
    out = ["<tools>"]
    for tool in tools:
        fn = _fn(tool)
        params = fn.get("parameters") or {}
        required = set(params.get("required") or [])
        out.append(f'  <tool name="{fn.get("name", "")}">')
        out.append(f"    <description>{fn.get('description', '')}</description>")
        for pname, schema in (params.get("properties") or {}).items():
            ptype = schema.get("type", "any") if isinstance(schema, dict) else "any"
            extra = f' enum="{"|".join(map(str, schema["enum"]))}"' if isinstance(schema, dict) and "enum" in schema else ""
            out.append(f'    <parameter name="{pname}" type="{ptype}" required="{str(pname in required).lower()}"{extra}/>')
        out.append("  </tool>")
    out.append("</tools>")
    return "\n".join(out)


def system_prompt(variant: str, tools: Sequence[dict[str, Any]], mode: str) -> tuple[str, PromptStyle]:
    """The variant's system prompt and the reply style prompt mode will parse."""
    style: PromptStyle = "xml" if variant == "xml-tools" else "json"
    parts = [_BASE]
    if mode == "prompt":
        parts.append(_XML_FORMAT if style == "xml" else _JSON_FORMAT)
    if variant == "few-shot":
        a = {"name": "set_timer", "arguments": {"minutes": 10}}
        b = [{"name": "add_reminder", "arguments": {"text": "call Sam", "time": "17:00"}},
             {"name": "set_timer", "arguments": {"minutes": 3}}]
        if mode == "prompt" and style == "xml":
            call_a = f"<tool_call>{json.dumps(a)}</tool_call>"
            call_b = "".join(f"<tool_call>{json.dumps(c)}</tool_call>" for c in b)
        elif mode == "prompt":
            call_a, call_b = json.dumps(a), json.dumps(b)
        else:
            call_a, call_b = "(calls set_timer with " + json.dumps(a["arguments"]) + ")", \
                "(calls add_reminder and set_timer, both in one reply)"
        parts.append(_FEW_SHOT.format(call_a=call_a, call_b=call_b))
    if variant == "step-by-step":
        parts.append(_STEPS)
    if variant == "xml-tools":
        parts.append(render_tools_xml(tools))
    elif mode == "prompt":
        parts.append(render_tools_json(tools))
    return "\n\n".join(parts), style


def bootstrap_ci(values: Sequence[float], *, resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% percentile bootstrap of the mean; fixed seed so summaries are reproducible."""
    if not values:
        return (float("nan"), float("nan"))
    if integral(values):  # the same draws and means, vectorised (agents/phases/resample.py)
        means = sorted(resampled_means(values, resamples, seed).tolist())
    else:
        rng = random.Random(seed)
        n = len(values)
        means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    return means[int(0.025 * resamples)], means[min(resamples - 1, int(0.975 * resamples))]


Outcomes = dict[str, dict[str, dict[tuple[str, int], float]]]  # model -> variant -> (item, repeat) -> 1/0


class ToolUseSection:
    """The tool-use section's state: per model and variant, each (item, repeat)'s pass (1.0)
    or fail (0.0), and per model the failure classes; the phase renders the tables from it.
    A later record for the same (model, variant, item, repeat) replaces the earlier one in
    place, in folding and in merging alike."""

    def __init__(self, phase: ToolUsePhase, data: object = None) -> None:
        self.phase = phase
        self.outcome: Outcomes = {}
        self.failures: dict[str, Counter[str]] = {}
        self._cells: dict[tuple[str, str], dict[tuple[str, int], float]] = {}  # into `outcome`
        if data is not None:
            outcome, failures = msgspec.convert(
                data, tuple[list[tuple[str, str, list[tuple[str, int, float]]]], dict[str, dict[str, int]]])
            for model, variant, cells in outcome:
                self.outcome.setdefault(model, {})[variant] = {(item, repeat): value for item, repeat, value in cells}
            self.failures = {model: Counter(counts) for model, counts in failures.items()}

    def add(self, r: RecordView) -> None:
        extra = r.extra
        if r.status != "ok" or "tool_passed" not in extra:
            return
        model = r.model
        cells = self._cells.get((model, r.variant))
        if cells is None:  # the (model, variant) dict, found once (the aggregate adds millions)
            cells = self._cells[(model, r.variant)] = self.outcome.setdefault(model, {}).setdefault(r.variant, {})
        cells[(r.item_id, r.repeat)] = 1.0 if extra["tool_passed"] is True else 0.0
        counts = self.failures.get(model)
        if counts is None:
            counts = self.failures[model] = Counter()
        failure = extra.get("tool_failure")
        if isinstance(failure, str):
            counts[failure] += 1

    def merge(self, other: ToolUseSection) -> None:
        for model, by_variant in other.outcome.items():
            mine = self.outcome.setdefault(model, {})
            for variant, cells in by_variant.items():
                mine.setdefault(variant, {}).update(cells)
        for model, counts in other.failures.items():
            self.failures.setdefault(model, Counter()).update(counts)

    def render(self) -> str | None:
        if not self.failures:
            return None
        phase = self.phase
        return "\n\n".join([phase._failure_table(self.failures), phase._accuracy_table(self.outcome),
                            phase._improvement_table(self.outcome), phase._tier_table(self.outcome)])

    def to_builtins(self) -> object:
        outcome = [[model, variant, [[item, repeat, value] for (item, repeat), value in cells.items()]]
                   for model, by_variant in self.outcome.items() for variant, cells in by_variant.items()]
        return [outcome, {model: dict(counts) for model, counts in self.failures.items()}]


class ToolUsePhase(Phase):
    name = "tool-use"
    description = "function calling (BFCL-style AST scoring) per model x prompt variant, with failure modes"

    tier1_min = 0.8
    tier2_min = 0.3
    RESAMPLES = 1000
    SEED = 0
    # two items, with and without worked examples: still a measured prompt-fix A/B
    QUICK_ITEMS = 2
    QUICK_VARIANTS = "baseline,few-shot"

    def configure(self, config: FleetConfig) -> None:
        self.tier1_min = config.tool_use.tier1_min
        self.tier2_min = config.tool_use.tier2_min

    def quick_options(self, ctx: PlanContext) -> dict[str, object]:
        return {"limit": self.QUICK_ITEMS, "variants": self.QUICK_VARIANTS}

    def mode_for(self, model: ModelRef, ctx: PlanContext) -> str:
        forced = ctx.options.get("tool_mode")
        if forced in ("native", "prompt"):
            return str(forced)
        if forced not in (None, "auto"):
            raise InputError("--tool-mode", f"expected native, prompt or auto, got {forced!r}")
        return "native" if capabilities_of(model.provider).native_tools else "prompt"

    @staticmethod
    def _variants(option: object) -> list[str]:
        """The prompt variants asked for (a list or "a,b"), in their canonical order."""
        if option is None:
            return list(VARIANTS)
        wanted = [v.strip() for v in option.split(",")] if isinstance(option, str) else \
            [str(v).strip() for v in option] if isinstance(option, (list, tuple)) else None
        if not wanted or any(v not in VARIANTS for v in wanted):
            raise InputError("--variants", f"expected a comma list of {', '.join(VARIANTS)}, got {option!r}")
        return [v for v in VARIANTS if v in wanted]

    def plan(self, ctx: PlanContext) -> list[WorkItem]:
        self.configure(ctx.config)
        items: list[WorkItem] = []
        chosen_variants = self._variants(ctx.options.get("variants"))
        suites = ctx.suites
        if not any(i.tools for loaded in suites for i in loaded.suite.items):
            suites = [load_suite("tool_use")]  # the run's suites have no tool items: use ours
        for loaded in suites:
            suite = loaded.suite
            tool_items = [i for i in suite.items if i.tools]
            for suite_item in tool_items[: ctx.limit] if ctx.limit else tool_items:
                expected = [c.model_dump() for c in suite_item.expected_calls or []]
                for model in ctx.models:
                    mode = self.mode_for(model, ctx)
                    for variant in chosen_variants:
                        system, style = system_prompt(variant, suite_item.tools, mode)
                        if suite_item.system:
                            system = suite_item.system + "\n\n" + system
                        request = build_request(
                            model, suite_item.prompt, system=system,
                            max_tokens=suite_item.max_tokens or suite.defaults.max_tokens,
                            temperature=suite_item.temperature if suite_item.temperature is not None
                            else suite.defaults.temperature,
                            stream=suite_item.stream if suite_item.stream is not None else suite.defaults.stream,
                            timeout_s=ctx.config.timeout_for(model.provider),
                        )
                        if mode == "native":
                            request.tools = [dict(t) for t in suite_item.tools]
                        items.append(WorkItem(
                            phase=self.name, item_id=suite_item.id, model=str(model), variant=variant,
                            category=suite_item.category, request=request,
                            meta={"mode": mode, "style": style, "expected": expected,
                                  "tool_names": tool_names(suite_item.tools)}))
        return expand_repeats(items, ctx.repeat)

    def score(self, item: WorkItem, response: ProviderResponse) -> dict[str, object]:
        """Everything the scorer needs is in `item.meta`, so a re-created phase can score."""
        raw_expected = item.meta.get("expected")
        expected = [ExpectedCall(name=e["name"], accepted=e.get("accepted") or {}, required=e.get("required") or [])
                    for e in raw_expected if isinstance(e, dict)] if isinstance(raw_expected, list) else []
        names_meta = item.meta.get("tool_names")
        names = [str(n) for n in names_meta] if isinstance(names_meta, list) else []
        mode = str(item.meta.get("mode", "native"))
        style: PromptStyle = "xml" if item.meta.get("style") == "xml" else "json"
        if mode == "prompt" and not response.tool_calls:
            verdict, calls = score_prompt_mode(response.text, expected, names, style)
        else:
            calls = list(response.tool_calls)
            verdict = score_calls(calls, expected, names, text=response.text)
        return {"tool_mode": mode, "tool_passed": verdict.passed, "tool_failure": verdict.failure,
                "tool_detail": verdict.detail, "tool_calls": calls}

    # -- summary -----------------------------------------------------------------------------

    def section_state(self, data: object = None) -> ToolUseSection:
        return ToolUseSection(self, data)

    def _failure_table(self, failures: dict[str, Counter[str]]) -> str:
        used = [f for f in FAILURE_CLASSES if any(c[f] for c in failures.values())]
        lines = ["**Tool-use failure modes** (counts over all variants)", "",
                 "| model | " + " | ".join(used or ["(no failures)"]) + " |",
                 "|---|" + "---:|" * max(1, len(used))]
        for model, counts in sorted(failures.items()):
            lines.append(f"| {model} | " + " | ".join(str(counts[f]) for f in used or [""]) + " |")
        return "\n".join(lines)

    def _accuracy_table(self, outcome: Outcomes) -> str:
        lines = ["**Tool-use accuracy** (95% bootstrap CI)", "",
                 "| model | variant | n | accuracy | 95% CI |", "|---|---|---:|---:|---|"]
        for model, by_variant in sorted(outcome.items()):
            for variant in self._ordered(by_variant):
                values = list(by_variant[variant].values())
                low, high = bootstrap_ci(values, resamples=self.RESAMPLES, seed=self.SEED)
                lines.append(f"| {model} | {variant or '-'} | {len(values)} | "
                             f"{100 * sum(values) / len(values):.1f}% | [{100 * low:.1f}, {100 * high:.1f}] |")
        return "\n".join(lines)

    def _improvement_table(self, outcome: Outcomes) -> str:
        """Paired on (item, repeat): each variant answered the same items as `baseline`."""
        lines = ["**Improvement over `baseline`** (accuracy difference, paired bootstrap 95% CI)", "",
                 "| model | variant | paired n | difference | 95% CI |", "|---|---|---:|---:|---|"]
        for model, by_variant in sorted(outcome.items()):
            base = by_variant.get("baseline")
            if base is None:
                continue
            for variant in self._ordered(by_variant):
                if variant == "baseline":
                    continue
                keys = sorted(set(base) & set(by_variant[variant]))
                if not keys:
                    continue
                diffs = [by_variant[variant][k] - base[k] for k in keys]
                low, high = bootstrap_ci(diffs, resamples=self.RESAMPLES, seed=self.SEED)
                lines.append(f"| {model} | {variant} | {len(keys)} | {100 * sum(diffs) / len(diffs):+.1f} pp | "
                             f"[{100 * low:+.1f}, {100 * high:+.1f}] |")
        return "\n".join(lines)

    def tier(self, best_accuracy: float) -> int:
        if best_accuracy >= self.tier1_min:
            return 1
        return 2 if best_accuracy >= self.tier2_min else 3

    def _tier_table(self, outcome: Outcomes) -> str:
        names = {1: "capable", 2: "partial", 3: "incapable"}
        lines = [f"**Tool-use tier** (1: best variant >= {self.tier1_min:.0%}, 2: >= {self.tier2_min:.0%}, 3: below)",
                 "", "| model | best variant | best accuracy | tier |", "|---|---|---:|---|"]
        for model, by_variant in sorted(outcome.items()):
            accuracy = {v: sum(o.values()) / len(o) for v, o in by_variant.items() if o}
            best = max(self._ordered(accuracy), key=lambda v: accuracy[v])
            t = self.tier(accuracy[best])
            lines.append(f"| {model} | {best or '-'} | {100 * accuracy[best]:.1f}% | {t} ({names[t]}) |")
        return "\n".join(lines)

    @staticmethod
    def _ordered(by_variant: dict[str, Any]) -> list[str]:
        known = [v for v in VARIANTS if v in by_variant]
        return known + sorted(v for v in by_variant if v not in VARIANTS)
