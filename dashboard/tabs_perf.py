"""The measurement tabs: Latency and TTFT, Long context, Tool use.

Why these tables mirror the phases' summary sections: a reader moving between `summary.md`
and the dashboard must find the same columns and the same numbers; the dashboard adds the
plots and merges every archived run (lineage winners) instead of one.
"""

from __future__ import annotations

from dashboard.html import DASH, cards, empty, num, para, pct, section, table
from dashboard.model import DashboardData, LongContextRow, ToolRow
from dashboard.svg import Bar, Line, Points, bar_chart, color_map, line_chart, scatter


def latency(data: DashboardData) -> str:
    lat = data.latency
    colors = color_map(data.overview.models)
    if not lat.rows:
        return empty("latency", "fleetbench run")
    parts = [para(f"Milliseconds over ok calls of the phases {', '.join(lat.phases)} (long-context has its "
                  "own tab: long prompts inflate TTFT by design). TTFT counts from the request on the wire "
                  "to the first chunk with content."),
             table(("model", "ok calls", "TTFT p50", "TTFT p95", "E2E p50", "E2E p95", "ITL p50"),
                   [[r.model, r.ok, num(r.ttft_p50_ms), num(r.ttft_p95_ms), num(r.e2e_p50_ms), num(r.e2e_p95_ms),
                     num(r.itl_p50_ms)] for r in lat.rows])]
    if lat.scatter:
        parts.append(scatter([Points(model, pts, colors.get(model, "")) for model, pts in lat.scatter.items()],
                             title="TTFT vs end-to-end latency (ok calls)", xlabel="TTFT ms", ylabel="E2E ms"))
    with_ttft = [r for r in lat.rows if r.ttft_p50_ms is not None]
    if with_ttft:
        parts.append(bar_chart([Bar(r.model, r.ttft_p50_ms or 0.0, note=f"p95 {num(r.ttft_p95_ms)} ms", color=colors.get(r.model, ""))
                                for r in with_ttft], title="TTFT p50 per model", unit="ms"))
    if lat.streaming:
        parts.append(section("Streaming TTFT labels", table(
            ("model", "calls", "ok", "TTFT p50", "TTFT p95", "ITL p50", "TPOT p50", "E2E p50", "TTFT~E2E n", "r",
             "label"),
            [[s.model, s.calls, s.ok, num(s.ttft_p50_ms), num(s.ttft_p95_ms), num(s.itl_p50_ms), num(s.tpot_p50_ms),
              num(s.e2e_p50_ms), s.pairs, num(s.pearson_r, 2), ", ".join(s.labels)] for s in lat.streaming],
            text_cols=(10,)),
            para("\"slow to start\": TTFT p50 > 0.5 x E2E p50; \"slow throughout\": TPOT p50 > 50 ms, TPOT "
                 "being a call's (E2E - TTFT) / (output tokens - 1); \"fast\" otherwise (the streaming-ttft "
                 "phase's rule). An ITL p50 far below TPOT means the tokens arrive in bursts.")))
    else:
        parts.append(section("Streaming TTFT labels", empty("streaming labels",
                                                            "fleetbench run --phase streaming-ttft")))
    return "".join(parts)


def _lc_lines(rows: list[LongContextRow], labels: list[str], metric: str, colors: dict[str, str]) -> list[Line]:
    models = sorted({r.model for r in rows})
    lines: list[Line] = []
    for model in models:
        by_label = {r.label: r for r in rows if r.model == model}
        values: list[float | None] = []
        for label in labels:
            row = by_label.get(label)
            value = getattr(row, metric) if row is not None else None
            values.append(100 * value if metric == "adherence" and value is not None else value)
        lines.append(Line(model, values, colors.get(model, "")))
    return lines


def long_context(data: DashboardData) -> str:
    rows = data.long_context
    if not rows:
        return empty("long context", "fleetbench run --phase long-context")
    # the charts follow length with the prompt at the end (the default setting); other payload
    # depths are rows of the table, where they sit next to their length
    at_end = [r for r in rows if r.payload_depth == 100] or rows
    labels = [label for _, label in sorted({(r.context_tokens, r.label) for r in at_end})]
    colors = color_map(data.overview.models)
    overflow = sum(r.context_overflow for r in rows)
    parts = [para("The item's own strict constraints behind filler of each length (8k@50%: the prompt halfway "
                  "into the filler); latency in ms over ok calls; prompt tokens as the provider counted them; "
                  "a length beyond a model's window shows as context_overflow (a result, not a skip)."),
             cards([("context lengths", ", ".join(labels)), ("context_overflow", str(overflow))]),
             table(("model", "context", "calls", "ok", "adherence", "prompt tokens p50", "TTFT p50", "TTFT p95",
                    "E2E p50", "E2E p95", "context_overflow", "other errors", "top failure"),
                   [[r.model, r.label, r.calls, r.ok, pct(r.adherence), num(r.prompt_tokens_p50, 0),
                     num(r.ttft_p50_ms), num(r.ttft_p95_ms), num(r.e2e_p50_ms), num(r.e2e_p95_ms),
                     r.context_overflow, r.other_errors, r.top_failure] for r in rows],
                   numeric_from=2, text_cols=(12,)),
             '<div class="charts">',
             line_chart(_lc_lines(at_end, labels, "adherence", colors), labels,
                        title="format adherence by context length", ylabel="adherence %", max_value=100.0),
             line_chart(_lc_lines(at_end, labels, "ttft_p50_ms", colors), labels, title="TTFT p50 by context length",
                        ylabel="ms"),
             line_chart(_lc_lines(at_end, labels, "e2e_p50_ms", colors), labels, title="E2E p50 by context length",
                        ylabel="ms"),
             "</div>"]
    return "".join(parts)


def _rate_cell(c: ToolRow | None) -> str:
    if c is None or c.rate is None:
        return DASH
    return f"{pct(c.rate)} [{pct(c.ci_low)}, {pct(c.ci_high)}] ({c.passed}/{c.scored} calls, {c.items} items)"


def tool_use(data: DashboardData) -> str:
    tu = data.tool_use
    if not tu.rows:
        return empty("tool use", "fleetbench run --phase tool-use")
    models = sorted({r.model for r in tu.rows})
    variants = list(dict.fromkeys(r.variant for r in tu.rows))
    cell = {(r.model, r.variant): r for r in tu.rows}
    matrix: list[list[object]] = [[model, *[_rate_cell(cell.get((model, v))) for v in variants]] for model in models]
    parts = [para("Pass rate = calls whose tool calls matched the expected calls (BFCL's AST check) over "
                  "scored ok calls; calls that failed before answering are counted apart (the rule calibration "
                  "uses). The item is the unit (its repeats count once) and the rate weighs categories "
                  "equally, with its 95% interval; the same numbers as the run summary's tool-use section."),
             section("Pass rate per model x prompt variant", table(("model", *variants), matrix)),
             table(("model", "variant", "mode", "scored calls", "passed", "items", "pass rate", "95% CI",
                    "failed calls"),
                   [[r.model, r.variant, ", ".join(r.modes) or DASH, r.scored, r.passed, r.items, pct(r.rate),
                     f"[{pct(r.ci_low)}, {pct(r.ci_high)}]", r.errors] for r in tu.rows], numeric_from=3)]
    if tu.categories:
        parts.append(section("Pass rate per category", table(
            ("model", "variant", "category", "items", "pass rate", "95% CI"),
            [[c.model, c.variant, c.category, c.items, pct(c.rate), f"[{pct(c.ci_low)}, {pct(c.ci_high)}]"]
             for c in tu.categories], numeric_from=3)))
    colors = color_map(data.overview.models)
    bars = [Bar(f"{r.model} · {r.variant}", 100 * r.rate, 100 * r.ci_low, 100 * r.ci_high,
                note=f"{r.passed}/{r.scored}, {r.items} items", color=colors.get(r.model, ""))
            for r in tu.rows if r.rate is not None]
    if bars:
        parts.append(bar_chart(bars, title="pass rate per model x prompt variant", unit="%, whiskers: 95% interval",
                               max_value=100.0))
    classes = list(dict.fromkeys(k for by in tu.failures.values() for counts in by.values() for k in counts))
    if classes:
        rows = [[m, category, *[counts.get(k, 0) for k in classes]]
                for m in models for category, counts in sorted(tu.failures.get(m, {}).items())]
        parts.append(section("Failure modes per category", table(("model", "category", *classes), rows,
                                                                  numeric_from=2)))
    else:
        parts.append(section("Failure modes per category", para("No failed tool calls among the scored calls.")))
    if tu.tiers:
        parts.append(section("Tiers", para(f"Tier 1 (capable): best variant >= {tu.tier1_min:.0%}; tier 2 "
                                           f"(partial): >= {tu.tier2_min:.0%}; tier 3 (incapable): below. A tier "
                                           "is given only when the whole 95% interval lies in its range; "
                                           "otherwise the tier is uncertain."),
                             table(("model", "best variant", "best pass rate", "95% CI", "tier"),
                                   [[t.model, t.best_variant, pct(t.best_rate), f"[{pct(t.ci_low)}, {pct(t.ci_high)}]",
                                     t.label] for t in tu.tiers], numeric_from=2, text_cols=(4,))))
    return "".join(parts)
