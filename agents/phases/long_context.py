"""`long-context`: chosen suite items behind 2k/8k/32k tokens of neutral filler.

Why filler first and the payload (the original prompt) last: the question is whether a model
still follows a strict format when the instruction sits at the end of a long prompt, and how
much the prompt length costs in TTFT and E2E. The filler is bland and seeded
(`harness.filler`), so it can neither help nor contradict the payload, and the constraints are
the item's own, unchanged: extra prose around a JSON object still fails.

Why other payload depths (`--payload-depths start,middle,end` or percentages): "lost in the
middle" is a known failure, where an instruction buried halfway into a long prompt is followed
less often than one at either end. The default is the seed's: the payload at the end only.
Depths other than the end get their own variant (`8k@50%`), so every depth is its own record.

A length beyond a model's window is not skipped: it is sent and recorded as the provider's
`context_overflow` error, which is itself a result (the window is smaller than claimed, or
the model cannot take that prompt at all).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from agents.phases.base import Phase, PlanContext
from agents.plan import WorkItem, build_request, expand_repeats
from agents.suite import LoadedSuite, SuiteItem
from archive.section_state import RecordView, SectionState
from harness.errors import InputError
from harness.filler import TokenCounter, counter_for, counter_name, fit_filler
from harness.records import CallRecord
from harness.scorers import adherence, check_constraints
from harness.seam import ProviderResponse
from harness.timing import percentile

# router JSON, nested JSON, command-only and bullet list: four different strict formats
DEFAULT_ITEMS: tuple[str, ...] = ("router-json", "nested-json", "shell-largest-files", "three-bullets")
DEFAULT_LENGTHS: tuple[int, ...] = (2048, 8192, 32768)
# the quick plan: one format (flat JSON, whose adherence drifts first) at 1/16, 1/8 and 1/4 of the smallest window
# among the run's models, so every length fits and the lengths make a curve (512/1k/2k on the
# embedded models: a 4k prompt costs them ~30 s of prefill each on 2 busy cores); the window
# is capped so a quick run on hosted models stays cheap (at most 8k tokens of filler)
QUICK_ITEMS: tuple[str, ...] = ("router-json",)
QUICK_FRACTIONS: tuple[int, ...] = (16, 8, 4)
QUICK_WINDOW_CAP = 32768
END_DEPTH = 100  # percent of the filler before the payload; 100 = the payload last
DEPTH_NAMES = {"start": 0, "middle": 50, "end": END_DEPTH}
SEPARATOR = "\n\n"
_SENTENCE_END = re.compile(r"(?<=[.!?]) ")
PLOT_NAME = "long_context_latency.png"


def length_label(tokens: int) -> str:
    """2048 -> "2k": the variant users read in tables and keys."""
    if tokens % 1024 == 0:
        return f"{tokens // 1024}k"
    if tokens % 1000 == 0:
        return f"{tokens // 1000}k"
    return str(tokens)


def parse_length(value: object) -> int:
    """An option value (2048, "2048", "8k") as tokens; "k" means 1024 like the labels."""
    if isinstance(value, bool):
        raise InputError("--context-lengths", f"not a token count: {value!r}")
    if isinstance(value, int):
        tokens = value
    else:
        text = str(value).strip().lower()
        try:
            tokens = int(float(text[:-1]) * 1024) if text.endswith("k") else int(text)
        except ValueError:
            raise InputError("--context-lengths", f"not a token count: {value!r}") from None
    if tokens < 64:
        raise InputError("--context-lengths", f"context length {tokens} is too small (minimum 64)")
    return tokens


def parse_depth(value: object) -> int:
    """An option value ("start", "middle", "end", "25%", 25) as the percent of filler before
    the payload."""
    text = str(value).strip().lower()
    if text in DEPTH_NAMES:
        return DEPTH_NAMES[text]
    try:
        depth = float(text.removesuffix("%"))
    except ValueError:
        raise InputError("--payload-depths", f"not a depth: {value!r} (start, middle, end or 0-100%)") from None
    if not 0 <= depth <= 100 or isinstance(value, bool):
        raise InputError("--payload-depths", f"depth {value!r} is outside 0-100%")
    return round(depth)


def variant_label(tokens: int, depth: int) -> str:
    """The record variant: "8k" with the payload at the end (the seed's default), else "8k@50%"."""
    return length_label(tokens) if depth == END_DEPTH else f"{length_label(tokens)}@{depth}%"


def _variant_depth(variant: str) -> int:
    _, _, depth = variant.partition("@")
    return int(depth.removesuffix("%")) if depth.removesuffix("%").isdigit() else END_DEPTH


def _as_list(value: object, where: str) -> list[object]:
    if isinstance(value, str):
        return [v for v in value.split(",") if v.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise InputError(where, f"expected a list, got {value!r}")


def record_tokens(record: RecordView) -> int | None:
    """Context length of a record: from `extra` (ok records) or its variant (errors, which
    are never scored and so carry no extra)."""
    value = record.extra.get("context_tokens")
    if isinstance(value, int):
        return value
    try:
        return parse_length(record.variant.partition("@")[0])
    except InputError:
        return None


def record_depth(record: RecordView) -> int:
    value = record.extra.get("payload_depth")
    return value if isinstance(value, int) else _variant_depth(record.variant)


class _Chosen(NamedTuple):
    """A chosen suite item with its call settings resolved against the suite defaults."""

    item: SuiteItem
    max_tokens: int
    temperature: float | None
    stream: bool

    @classmethod
    def of(cls, it: SuiteItem, loaded: LoadedSuite) -> _Chosen:
        d = loaded.suite.defaults
        return cls(it, it.max_tokens or d.max_tokens,
                   it.temperature if it.temperature is not None else d.temperature,
                   it.stream if it.stream is not None else d.stream)


def count_failures(record: RecordView, counts: Counter[str]) -> None:
    """Add an ok answer's failed constraints to `counts` as "type: what" (the detail up to its
    first colon, so "not valid JSON" groups whatever line and column it broke at)."""
    results = record.extra.get("constraints") if record.status == "ok" else None
    for c in results if isinstance(results, list) else []:
        if isinstance(c, dict) and c.get("passed") is False:
            counts[f"{c.get('type')}: {str(c.get('detail') or 'failed').split(':')[0]}"] += 1


def most_common_failure(counts: Counter[str]) -> str:
    """The commonest failure with its count (ties: the name last in sort order); "-" when none."""
    if not counts:
        return "-"
    what, n = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    return f"{what} ({n})"


def top_failure(records: Sequence[RecordView]) -> str:
    """The most common failed constraint among ok answers, with its count; "-" when every
    constraint held. Says *how* the format drifted, not just that."""
    counts: Counter[str] = Counter()
    for r in records:
        count_failures(r, counts)
    return most_common_failure(counts)


def length_ticks(records: Sequence[CallRecord]) -> list[tuple[int, str]]:
    """The plot's x ticks: every tested length, and where calls overflowed, how many. A line
    that stops at 8k must not read as "32k was not tried"."""
    tested: set[int] = set()
    overflowed: Counter[int] = Counter()
    for r in records:
        if (tokens := record_tokens(r)) is not None:
            tested.add(tokens)
            overflowed[tokens] += r.status != "ok" and r.error_class == "context_overflow"
    return [(t, length_label(t) + (f"\n{overflowed[t]} overflowed" if overflowed[t] else "")) for t in sorted(tested)]


class LongContextPhase(Phase):
    name = "long-context"
    description = "format adherence and latency with the instruction behind 2k/8k/32k tokens of filler"

    def __init__(self) -> None:
        self._items: dict[str, SuiteItem] = {}
        self._fillers: dict[tuple[str, int], str] = {}

    def quick_options(self, ctx: PlanContext) -> dict[str, object]:
        known = {it.id for loaded in ctx.suites for it in loaded.suite.items}
        windows = [ctx.context_windows[m.name] for m in ctx.models if m.name in ctx.context_windows]
        window = min([*windows, QUICK_WINDOW_CAP])
        quick: dict[str, object] = {"context_lengths": [window // f for f in QUICK_FRACTIONS]}
        if items := [i for i in QUICK_ITEMS if i in known]:
            quick["long_context_items"] = ",".join(items)
        return quick

    def _choose(self, ctx: PlanContext) -> list[_Chosen]:
        wanted_opt = ctx.options.get("long_context_items")
        wanted = ([str(v).strip() for v in _as_list(wanted_opt, "--long-context-items")]
                  if wanted_opt is not None else list(DEFAULT_ITEMS))
        found: dict[str, _Chosen] = {}
        for loaded in ctx.suites:
            for it in loaded.suite.items:
                if it.id in wanted and it.id not in found:
                    found[it.id] = _Chosen.of(it, loaded)
        missing = [w for w in wanted if w not in found]
        if wanted_opt is not None and missing:
            raise InputError("--long-context-items", f"no suite item with id {', '.join(missing)}")
        chosen = [found[w] for w in wanted if w in found]
        if not chosen:  # a suite without the default items: take its first items instead
            for loaded in ctx.suites:
                chosen += [_Chosen.of(it, loaded) for it in loaded.suite.items[: len(DEFAULT_ITEMS)]]
        return chosen[: ctx.limit] if ctx.limit else chosen

    def _filler(self, counter_key: str, counter: TokenCounter, budget: int) -> str:
        key = (counter_key, budget)
        if key not in self._fillers:
            self._fillers[key] = fit_filler(budget, counter)
        return self._fillers[key]

    def build_prompt(self, payload: str, system: str | None, target: int, counter: TokenCounter,
                     counter_key: str = "", depth: int = END_DEPTH) -> str:
        """Filler with the payload at `depth` percent of it (at a sentence boundary; 100 = after
        all of it), blank lines between, sized so the whole prompt (system included) is at most
        `target` tokens by `counter` and as close to it as whole sentences allow."""
        separators = 1 if depth in (0, END_DEPTH) else 2
        budget = target - counter(payload) - separators * counter(SEPARATOR) - (counter(system) if system else 0)
        filler = self._filler(counter_key, counter, budget) if budget > 0 else ""
        if not filler:
            return payload
        sentences = _SENTENCE_END.split(filler)
        cut = round(len(sentences) * depth / 100)
        before, after = " ".join(sentences[:cut]), " ".join(sentences[cut:])
        return SEPARATOR.join(part for part in (before, payload, after) if part)

    def plan(self, ctx: PlanContext) -> list[WorkItem]:
        lengths_opt = ctx.options.get("context_lengths")
        lengths = ([parse_length(v) for v in _as_list(lengths_opt, "--context-lengths")]
                   if lengths_opt is not None else list(DEFAULT_LENGTHS))
        depths_opt = ctx.options.get("payload_depths")
        depths = (list(dict.fromkeys(parse_depth(v) for v in _as_list(depths_opt, "--payload-depths")))
                  if depths_opt is not None else [END_DEPTH])
        items: list[WorkItem] = []
        for chosen in self._choose(ctx):
            suite_item = chosen.item
            self._items[suite_item.id] = suite_item
            for model in ctx.models:
                counter = counter_for(model.provider, model.model)
                counter_key = counter_name(model.provider, model.model)
                for target in lengths:
                    for depth in depths:
                        prompt = self.build_prompt(suite_item.prompt, suite_item.system, target, counter,
                                                   counter_key, depth)
                        request = build_request(model, prompt, system=suite_item.system,
                                                max_tokens=chosen.max_tokens,
                                                temperature=chosen.temperature, stream=chosen.stream,
                                                timeout_s=ctx.config.timeout_for(model.provider))
                        items.append(WorkItem(phase=self.name, item_id=suite_item.id, model=str(model),
                                              variant=variant_label(target, depth), category=suite_item.category,
                                              request=request, meta={"context_tokens": target, "payload_depth": depth}))
        return expand_repeats(items, ctx.repeat)

    def score(self, item: WorkItem, response: ProviderResponse) -> dict[str, object]:
        target = item.meta.get("context_tokens")
        depth = item.meta.get("payload_depth")
        extra: dict[str, object] = {"context_tokens": target if isinstance(target, int)
                                    else parse_length(item.variant.partition("@")[0]),
                                    "payload_depth": depth if isinstance(depth, int) else _variant_depth(item.variant)}
        suite_item = self._items.get(item.item_id)
        if suite_item is not None and suite_item.constraints:
            results = check_constraints(response.text, suite_item.constraints)
            extra["constraints"] = [{"type": r.type, "passed": r.passed, "detail": r.detail}
                                    for r in results]
            extra["adherence"] = adherence(results)
        return extra

    @staticmethod
    def _grouped(records: Sequence[CallRecord]) -> dict[str, dict[int, list[CallRecord]]]:
        out: dict[str, dict[int, list[CallRecord]]] = {}
        for r in records:
            tokens = record_tokens(r)
            if tokens is not None:
                out.setdefault(r.model, {}).setdefault(tokens, []).append(r)
        return out

    def section_state(self, data: object = None) -> SectionState:
        # imported here: the section module reads this module's record helpers
        from agents.phases.long_context_section import LongContextSection

        return LongContextSection(data)

    def write_artifacts(self, run_dir: Path, records: Sequence[CallRecord]) -> list[str]:
        grouped = self._grouped(records)
        from agents.phases.plots import Series, line_panels  # matplotlib: ~28 MB, only where plots are drawn

        ttft_series: list[Series] = []
        e2e_series: list[Series] = []
        all_lengths: set[int] = set()
        for model, by_len in sorted(grouped.items()):
            for metric, dest in (("ttft_ms", ttft_series), ("e2e_ms", e2e_series)):
                xs: list[float] = []
                p50s: list[float] = []
                p95s: list[float] = []
                for tokens, recs in sorted(by_len.items()):
                    values = [float(v) for r in recs if r.status == "ok"
                              and isinstance(v := getattr(r, metric), (int, float))]
                    p50, p95 = percentile(values, 50), percentile(values, 95)
                    if p50 is not None and p95 is not None:
                        xs.append(float(tokens))
                        p50s.append(p50)
                        p95s.append(p95)
                        all_lengths.add(tokens)
                if xs:
                    dest.append(Series(label=model, x=xs, y=p50s, upper=p95s))
        if not all_lengths:
            return []
        ticks = [(float(tokens), label) for tokens, label in length_ticks(records)]
        line_panels(run_dir / PLOT_NAME,
                    [("time to first token", ttft_series), ("end-to-end latency", e2e_series)],
                    xlabel="context length (tokens, log scale)", ylabel="ms (solid p50, dashed p95)",
                    title="long-context latency by model (ok calls only)", xticks=ticks)
        return [PLOT_NAME]
