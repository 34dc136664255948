"""`tool-use`: function-calling accuracy per model, prompt variant and category, scored as the
Berkeley Function Calling Leaderboard scores (`harness.tool_scoring`), with failure modes.

Why variants (`tool_use_prompts`): local models are "Tier 3" with a plain prompt; each variant
is its own record key, so the section compares variants on the same items and reports a tier
from the best one (`tool_use_section`).

Why two modes: hosted APIs take `tools` natively; the embedded/Ollama models refuse them, so
there the tools are described in the prompt and the reply must be JSON (or `<tool_call>` XML),
as BFCL distinguishes function-calling from prompting models. In native mode a tool name's
dots become underscores (the OpenAI and Anthropic APIs allow none), in the offered tools and
the expected calls alike, as BFCL does; prompt mode keeps the names as they are.

Which items: the run's suites' tool items (a `bfcl:<category>` suite, `suites/tool_use.yaml`),
or, when the run's suites have none, our own suite and a fixed sample of BFCL items beside it
(`--bfcl-sample` items per category, where bfcl-eval is installed), so the default plan always
asks BFCL's questions too. Calls are never executed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agents.bfcl import SAMPLE_CATEGORIES, sample_suites
from agents.config import FleetConfig
from agents.phases.base import Phase, PlanContext
from agents.phases.tool_use_prompts import VARIANTS, system_prompt, tool_names
from agents.phases.tool_use_section import ToolUseSection
from agents.plan import WorkItem, build_request, expand_repeats
from agents.suite import LoadedSuite, SuiteItem, load_suite
from harness.errors import InputError
from harness.model_ref import ModelRef
from harness.providers.registry import capabilities_of
from harness.seam import Message, ProviderResponse
from harness.tool_args import ParamType, schema_params
from harness.tool_scoring import ExpectedCall, Irrelevance, PromptStyle, score_calls, score_prompt_mode

__all__ = ["VARIANTS", "ToolUsePhase", "ToolUseSection"]


def native_name(name: str) -> str:
    """A tool name as native function calling sends it: no dots (BFCL's conversion)."""
    return name.replace(".", "_")


def _function(tool: Mapping[str, Any]) -> Mapping[str, Any]:
    fn = tool.get("function")
    return fn if isinstance(fn, Mapping) else tool


def native_tools(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The tools with native names, in the shape they were given."""
    out: list[dict[str, Any]] = []
    for tool in tools:
        fn = dict(_function(tool))
        fn["name"] = native_name(str(fn.get("name", "")))
        out.append({**tool, "function": fn} if isinstance(tool.get("function"), Mapping) else fn)
    return out


def expected_meta(item: SuiteItem, native: bool) -> list[dict[str, object]]:
    """The item's expected calls as plan metadata, each with its function's parameter types
    from the offered tools, so a re-created phase can score from `item.meta` alone."""
    schemas = {str(_function(t).get("name", "")): schema_params(_function(t)) for t in item.tools}
    out: list[dict[str, object]] = []
    for call in item.expected_calls or []:
        params = schemas.get(call.name)
        out.append({"name": native_name(call.name) if native else call.name, "accepted": dict(call.accepted),
                    "required": list(call.required),
                    "params": None if params is None else {p: [t.type, t.items] for p, t in params.items()}})
    return out


def expected_calls(meta: object) -> list[ExpectedCall]:
    """`expected_meta` read back."""
    out: list[ExpectedCall] = []
    for e in meta if isinstance(meta, list) else []:
        if not isinstance(e, dict):
            continue
        raw = e.get("params")
        params = {str(p): ParamType(type=str(t[0]), items=None if t[1] is None else str(t[1]))
                  for p, t in raw.items()} if isinstance(raw, dict) else None
        out.append(ExpectedCall(name=str(e["name"]), accepted=e.get("accepted") or {},
                                required=e.get("required") or [], params=params))
    return out


class ToolUsePhase(Phase):
    name = "tool-use"
    description = "function calling (BFCL's AST scoring) per model x prompt variant x category, with failure modes"

    tier1_min = 0.8
    tier2_min = 0.3
    # two items, with and without worked examples: still a measured prompt-fix A/B
    QUICK_ITEMS = 1  # our suite's first tool item, beside the BFCL kinds below
    QUICK_VARIANTS = "baseline,few-shot"
    # BFCL items per category drawn beside our own suite (`agents.bfcl.SAMPLE_CATEGORIES`):
    # few enough for the main job's time, enough that every kind of answer is asked for
    BFCL_SAMPLE = 2
    QUICK_BFCL_SAMPLE = 1
    # the quick plan's BFCL kinds: a plain call and no call (the main job's time allows two)
    QUICK_BFCL_CATEGORIES = ("simple_python", "irrelevance")

    def configure(self, config: FleetConfig) -> None:
        self.tier1_min = config.tool_use.tier1_min
        self.tier2_min = config.tool_use.tier2_min

    def quick_options(self, ctx: PlanContext) -> dict[str, object]:
        return {"limit": self.QUICK_ITEMS, "variants": self.QUICK_VARIANTS, "bfcl_sample": self.QUICK_BFCL_SAMPLE,
                "bfcl_categories": self.QUICK_BFCL_CATEGORIES}

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

    def _tool_suites(self, ctx: PlanContext) -> list[tuple[LoadedSuite, list[SuiteItem]]]:
        """(suite, the items to plan) for each suite with tool items."""
        chosen = [(s, [i for i in s.suite.items if i.tools]) for s in ctx.suites]
        chosen = [(s, items[: ctx.limit] if ctx.limit else items) for s, items in chosen if items]
        if not chosen:  # the run's suites have no tool items: ours, and BFCL's sample beside it
            ours = load_suite("tool_use")
            items = [i for i in ours.suite.items if i.tools]
            chosen = [(ours, items[: ctx.limit] if ctx.limit else items)]
            categories = ctx.options.get("bfcl_categories", SAMPLE_CATEGORIES)
            assert isinstance(categories, tuple)  # set by the plans, never by a user
            chosen += [(s, list(s.suite.items)) for s in sample_suites(self._sample_size(ctx.options), categories)]
        return chosen

    def _sample_size(self, options: Mapping[str, object]) -> int:
        """BFCL items per sampled category (`--bfcl-sample`; the default plan's when not given)."""
        size = options.get("bfcl_sample", self.BFCL_SAMPLE)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InputError("--bfcl-sample", f"expected a count of items per BFCL category, got {size!r}")
        return size

    def plan(self, ctx: PlanContext) -> list[WorkItem]:
        self.configure(ctx.config)
        chosen_variants = self._variants(ctx.options.get("variants"))
        modes = {model: self.mode_for(model, ctx) for model in ctx.models}
        items: list[WorkItem] = []
        for loaded, suite_items in self._tool_suites(ctx):
            for suite_item in suite_items:
                for model in ctx.models:
                    items.extend(self._work(suite_item, loaded, model, modes[model], chosen_variants, ctx))
        return expand_repeats(items, ctx.repeat)

    def _work(self, item: SuiteItem, loaded: LoadedSuite, model: ModelRef, mode: str, variants: list[str],
              ctx: PlanContext) -> list[WorkItem]:
        suite = loaded.suite
        native = mode == "native"
        tools = native_tools(item.tools) if native else [dict(t) for t in item.tools]
        meta: dict[str, object] = {"mode": mode, "expected": expected_meta(item, native),
                                   "tool_names": tool_names(tools), "irrelevance": suite.irrelevance}
        out: list[WorkItem] = []
        for variant in variants:
            system, style = system_prompt(variant, tools, mode)
            if item.system:
                system = item.system + "\n\n" + system
            request = build_request(
                model, item.prompt, system=system, max_tokens=item.max_tokens or suite.defaults.max_tokens,
                temperature=item.temperature if item.temperature is not None else suite.defaults.temperature,
                stream=item.stream if item.stream is not None else suite.defaults.stream,
                timeout_s=ctx.config.timeout_for(model.provider))
            if item.history:
                request.messages[-1:-1] = [Message(role=t.role, content=t.content) for t in item.history]
            if native:
                request.tools = [dict(t) for t in tools]
            out.append(WorkItem(phase=self.name, item_id=item.id, model=str(model), variant=variant,
                                category=item.category, request=request, meta={**meta, "style": style}))
        return out

    def score(self, item: WorkItem, response: ProviderResponse) -> dict[str, object]:
        """Everything the scorer needs is in `item.meta`, so a re-created phase can score."""
        expected = expected_calls(item.meta.get("expected"))
        names_meta = item.meta.get("tool_names")
        names = [str(n) for n in names_meta] if isinstance(names_meta, list) else []
        mode = str(item.meta.get("mode", "native"))
        style: PromptStyle = "xml" if item.meta.get("style") == "xml" else "json"
        irrelevance: Irrelevance = "no_call" if item.meta.get("irrelevance") == "no_call" else "no_attempt"
        if mode == "prompt" and not response.tool_calls:
            verdict, calls = score_prompt_mode(response.text, expected, names, style, irrelevance=irrelevance)
        else:
            calls = list(response.tool_calls)
            verdict = score_calls(calls, expected, names, text=response.text, irrelevance=irrelevance)
        return {"tool_mode": mode, "tool_style": style, "tool_passed": verdict.passed,
                "tool_failure": verdict.failure, "tool_detail": verdict.detail, "tool_calls": calls}

    def section_state(self, data: object = None) -> ToolUseSection:
        return ToolUseSection(self, data)
