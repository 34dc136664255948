"""The per-record tabs: Latency and TTFT, Long context and Tool use, from archived records.

Why recomputed from records rather than parsed from the phases' markdown: the summary
tables are text for people; the dashboard needs numbers to plot and export. Where a phase
states a rule (streaming-ttft labels, long-context lengths) this module calls the phase's
own functions, so the dashboard can never disagree with `summary.md`; the tool-use numbers
are the tool-use section's own (accuracy over scored ok calls per item and category, tiers
only where the best variant's whole interval lies in a tier's range).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agents.phases.long_context import record_depth, record_tokens, top_failure, variant_label
from agents.phases.streaming_ttft import StreamingTTFTPhase
from agents.phases.tool_use import ToolUsePhase
from agents.phases.tool_use_section import (
    ALL,
    best_variant,
    category_accuracy,
    interval_tier,
    ordered_variants,
)
from dashboard.model import (
    Latency,
    LatencyRow,
    LongContextRow,
    StreamingRow,
    ToolCategoryRow,
    ToolRow,
    ToolTier,
    ToolUse,
)
from harness.errors import ErrorClass
from harness.intervals import Interval
from harness.records import CallRecord
from harness.timing import percentile
from harness.tool_scoring import FAILURE_CLASSES

LONG_CONTEXT = "long-context"
STREAMING = "streaming-ttft"
TOOL_USE = "tool-use"
# long prompts inflate TTFT by design; they have their own tab and would skew these numbers
LATENCY_EXCLUDED = frozenset({LONG_CONTEXT})
SCATTER_POINTS_PER_MODEL = 300


def _floats(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None]


def _by_model(records: Sequence[CallRecord]) -> dict[str, list[CallRecord]]:
    out: dict[str, list[CallRecord]] = {}
    for r in records:
        out.setdefault(r.model, []).append(r)
    return dict(sorted(out.items()))


def _sample(points: list[tuple[float, float]], limit: int) -> list[tuple[float, float]]:
    """Evenly strided, deterministic: the page stays small and reloads draw the same dots."""
    if len(points) <= limit:
        return points
    step = len(points) / limit
    return [points[int(i * step)] for i in range(limit)]


def latency(records: Sequence[CallRecord]) -> Latency:
    """TTFT/E2E percentiles per model over ok calls of every phase but long-context."""
    used = [r for r in records if r.phase not in LATENCY_EXCLUDED]
    rows: list[LatencyRow] = []
    scatter: dict[str, list[tuple[float, float]]] = {}
    for model, recs in _by_model(used).items():
        ok = [r for r in recs if r.status == "ok"]
        ttft = _floats([r.ttft_ms for r in ok])
        e2e = _floats([r.e2e_ms for r in ok])
        itl = _floats([r.itl_p50_ms for r in ok])
        rows.append(LatencyRow(model=model, ok=len(ok), ttft_p50_ms=percentile(ttft, 50),
                               ttft_p95_ms=percentile(ttft, 95), e2e_p50_ms=percentile(e2e, 50),
                               e2e_p95_ms=percentile(e2e, 95), itl_p50_ms=percentile(itl, 50)))
        pairs = [(float(r.ttft_ms), float(r.e2e_ms)) for r in ok if r.ttft_ms is not None and r.e2e_ms is not None]
        if pairs:
            scatter[model] = _sample(pairs, SCATTER_POINTS_PER_MODEL)
    streaming = streaming_rows([r for r in records if r.phase == STREAMING])
    return Latency(phases=sorted({r.phase for r in used}), rows=rows, scatter=scatter, streaming=streaming)


def streaming_rows(records: Sequence[CallRecord]) -> list[StreamingRow]:
    """The streaming-ttft phase's own per-model statistics and labels, as typed rows."""
    rows: list[StreamingRow] = []
    for model, s in StreamingTTFTPhase.model_stats(records).items():
        rows.append(StreamingRow(model=model, calls=_int(s["calls"]), ok=_int(s["ok"]),
                                 ttft_p50_ms=_num(s["ttft_p50"]), ttft_p95_ms=_num(s["ttft_p95"]),
                                 itl_p50_ms=_num(s["itl_p50"]), tpot_p50_ms=_num(s["tpot_p50"]),
                                 e2e_p50_ms=_num(s["e2e_p50"]),
                                 pairs=_int(s["pairs"]), pearson_r=_num(s["r"]),
                                 labels=[str(v) for v in s["labels"]] if isinstance(s["labels"], list) else []))
    return rows


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def long_context(records: Sequence[CallRecord]) -> list[LongContextRow]:
    """One row per model x length x payload depth, grouped exactly as the phase's own table."""
    groups: dict[tuple[str, int, int], list[CallRecord]] = {}
    for r in records:
        if r.phase != LONG_CONTEXT:
            continue
        tokens = record_tokens(r)
        if tokens is not None:
            groups.setdefault((r.model, tokens, record_depth(r)), []).append(r)
    rows: list[LongContextRow] = []
    for (model, tokens, depth), recs in sorted(groups.items()):
        ok = [r for r in recs if r.status == "ok"]
        ttft = _floats([r.ttft_ms for r in ok])
        e2e = _floats([r.e2e_ms for r in ok])
        scores = [float(v) for r in ok if isinstance(v := r.extra.get("adherence"), (int, float))]
        overflow = sum(1 for r in recs if r.status == "error" and r.error_class == ErrorClass.CONTEXT_OVERFLOW)
        other = sum(1 for r in recs if r.status == "error") - overflow
        rows.append(LongContextRow(
            model=model, context_tokens=tokens, payload_depth=depth, label=variant_label(tokens, depth),
            calls=len(recs), ok=len(ok), adherence=sum(scores) / len(scores) if scores else None,
            prompt_tokens_p50=percentile(_floats([r.input_tokens for r in ok]), 50),
            ttft_p50_ms=percentile(ttft, 50), ttft_p95_ms=percentile(ttft, 95),
            e2e_p50_ms=percentile(e2e, 50), e2e_p95_ms=percentile(e2e, 95),
            context_overflow=overflow, other_errors=other, top_failure=top_failure(ok)))
    return rows


def tool_use(records: Sequence[CallRecord], tier1_min: float = 0.8, tier2_min: float = 0.3) -> ToolUse:
    """The tool-use section's own numbers (`agents.phases.tool_use_section`, so the tab and
    summary.md agree): per model x prompt variant the equal-weight accuracy over categories
    and each category's, over scored ok calls with the item as the unit; failure modes per
    category; tiers from the best variant's interval; failed calls apart."""
    phase = ToolUsePhase()
    phase.tier1_min, phase.tier2_min = tier1_min, tier2_min
    section = phase.section_state()
    modes: dict[tuple[str, str], set[str]] = {}
    for r in records:
        if r.phase == TOOL_USE:
            section.add(r)
            if isinstance(mode := r.extra.get("tool_mode"), str):
                modes.setdefault((r.model, r.variant), set()).add(mode)
    means = section.means()
    rows: list[ToolRow] = []
    categories: list[ToolCategoryRow] = []
    tiers: list[ToolTier] = []
    for model, by_variant in sorted(section.cells.items()):
        rates: dict[str, Interval] = {}
        for variant in ordered_variants(by_variant):
            cells = by_variant[variant].values()
            scored = [score for score, _ in cells if score is not None]
            accuracy = category_accuracy(means.get(model, {}).get(variant, {}))
            overall = accuracy.pop(ALL)
            if scored:
                rates[variant] = overall
            rows.append(ToolRow(model=model, variant=variant, modes=sorted(modes.get((model, variant), set())),
                                scored=len(scored), passed=int(sum(scored)),
                                pass_rate=sum(scored) / len(scored) if scored else None, items=overall.n,
                                rate=overall.point, ci_low=overall.lo, ci_high=overall.hi,
                                errors=sum(1 for score, _ in cells if score is None)))
            categories += [ToolCategoryRow(model=model, variant=variant, category=category, items=i.n,
                                           rate=i.point, ci_low=i.lo, ci_high=i.hi)
                           for category, i in accuracy.items()]
        if rates:
            best = best_variant(rates)
            tier, label = interval_tier(rates[best], tier1_min, tier2_min)
            tiers.append(ToolTier(model=model, best_variant=best, best_rate=rates[best].point or 0.0, tier=tier,
                                  label=label, ci_low=rates[best].lo, ci_high=rates[best].hi))
    failures = {model: {category: _ordered_failures(counts) for category, counts in by_category.items()}
                for model, by_category in section.failure_counts().items()}
    return ToolUse(tier1_min=tier1_min, tier2_min=tier2_min, rows=rows, categories=categories, tiers=tiers,
                   failures=failures)


def _ordered_failures(counts: Mapping[str, int]) -> dict[str, int]:
    """The scorer's own order of failure classes, then any unknown class alphabetically."""
    known = [f for f in FAILURE_CLASSES if counts.get(f)]
    return {f: counts[f] for f in known + sorted(f for f in counts if f not in FAILURE_CLASSES and counts[f])}
