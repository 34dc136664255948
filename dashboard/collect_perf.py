"""The per-record tabs: Latency and TTFT, Long context and Tool use, from archived records.

Why recomputed from records rather than parsed from the phases' markdown: the summary
tables are text for people; the dashboard needs numbers to plot and export. Where a phase
states a rule (streaming-ttft labels, long-context lengths) this module calls the phase's
own functions, so the dashboard can never disagree with `summary.md`. Tool-use tiers follow
the stated rule (a tier only when the best variant's whole interval lies in its range,
else "uncertain"; accuracy over ok calls, failures apart), computed here on per-item means.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from agents.phases.long_context import record_depth, record_tokens, top_failure, variant_label
from agents.phases.streaming_ttft import StreamingTTFTPhase
from agents.phases.tool_use import VARIANTS as TOOL_VARIANTS
from dashboard.model import (
    Latency,
    LatencyRow,
    LongContextRow,
    StreamingRow,
    ToolRow,
    ToolTier,
    ToolUse,
)
from harness.errors import ErrorClass
from harness.intervals import Interval, bounded_mean, cluster_means
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


def _variant_order(variants: Sequence[str]) -> list[str]:
    known = [v for v in TOOL_VARIANTS if v in variants]
    return known + sorted(v for v in set(variants) if v not in TOOL_VARIANTS)


TIER_NAMES = {1: "capable", 2: "partial", 3: "incapable"}


def tier_of(rate: float, tier1_min: float, tier2_min: float) -> int:
    """The tier a rate falls in: 1 capable, 2 partial, 3 incapable."""
    if rate >= tier1_min:
        return 1
    return 2 if rate >= tier2_min else 3


def interval_tier(interval: Interval, tier1_min: float, tier2_min: float) -> tuple[int | None, str]:
    """A tier only when the whole interval lies in its range (tier 1 needs the lower bound to
    clear `tier1_min`); otherwise None and "uncertain: tier a-b"."""
    low, high = tier_of(interval.lo, tier1_min, tier2_min), tier_of(interval.hi, tier1_min, tier2_min)
    if low == high:
        return low, f"{low} ({TIER_NAMES[low]})"
    return None, f"uncertain: tier {high}-{low}"


def tool_use(records: Sequence[CallRecord], tier1_min: float = 0.8, tier2_min: float = 0.3) -> ToolUse:
    """Pass rate per model x prompt variant over scored ok calls, per item with its interval;
    failure modes; tiers from the best variant's interval."""
    cells: dict[tuple[str, str], list[CallRecord]] = {}
    failures: dict[str, Counter[str]] = {}
    for r in records:
        if r.phase == TOOL_USE:
            cells.setdefault((r.model, r.variant), []).append(r)
    rows: list[ToolRow] = []
    models = sorted({m for m, _ in cells})
    tiers: list[ToolTier] = []
    for model in models:
        variants = _variant_order([v for m, v in cells if m == model])
        counts = failures.setdefault(model, Counter())
        rates: dict[str, Interval] = {}
        for variant in variants:
            recs = cells[(model, variant)]
            scored = [r for r in recs if r.status == "ok" and isinstance(r.extra.get("tool_passed"), bool)]
            passed = sum(1 for r in scored if r.extra.get("tool_passed") is True)
            for r in scored:
                failure = r.extra.get("tool_failure")
                if isinstance(failure, str) and failure:
                    counts[failure] += 1
            modes = sorted({m for r in scored if isinstance(m := r.extra.get("tool_mode"), str)})
            per_item = cluster_means((r.item_id, 1.0 if r.extra.get("tool_passed") is True else 0.0) for r in scored)
            interval = bounded_mean([per_item[k] for k in sorted(per_item)])
            if scored:
                rates[variant] = interval
            rows.append(ToolRow(model=model, variant=variant, modes=modes, scored=len(scored), passed=passed,
                                pass_rate=passed / len(scored) if scored else None, items=interval.n,
                                rate=interval.point, ci_low=interval.lo, ci_high=interval.hi,
                                errors=sum(1 for r in recs if r.status == "error")))
        if rates:
            best = max(_variant_order(list(rates)), key=lambda v: rates[v].point or 0.0)
            tier, label = interval_tier(rates[best], tier1_min, tier2_min)
            tiers.append(ToolTier(model=model, best_variant=best, best_rate=rates[best].point or 0.0, tier=tier,
                                  label=label, ci_low=rates[best].lo, ci_high=rates[best].hi))
    return ToolUse(tier1_min=tier1_min, tier2_min=tier2_min, rows=rows, tiers=tiers,
                   failures={m: _ordered_failures(c) for m, c in failures.items()})


def _ordered_failures(counts: Mapping[str, int]) -> dict[str, int]:
    """The scorer's own order of failure classes, then any unknown class alphabetically."""
    known = [f for f in FAILURE_CLASSES if counts.get(f)]
    return {f: counts[f] for f in known + sorted(f for f in counts if f not in FAILURE_CLASSES and counts[f])}
