"""The decision tabs: Overview, LLM comparison, Judge comparison, Production judge comparison.

Why rankings come from `rankings.json` verbatim: those are the numbers `fleetbench
calibrate` computed (per-item intervals, ranks by paired comparisons on shared items, the
sizing of each table, failed calls apart, suspect items) and routing uses; the dashboard
shows them, it does not re-rank. Judge comparisons stay per run because they are
only comparable on the same dataset and flags, so each block names its run and dataset hash.
"""

from __future__ import annotations

from collections.abc import Sequence

from calibration.decisions_md import sizing_text
from calibration.schema import FailureRow, JudgeComparison, Rankings, RankRow, Sizing
from dashboard.html import DASH, cards, empty, esc, num, para, pct, section, table
from dashboard.model import DashboardData
from dashboard.svg import Bar, bar_chart, color_map

TOP_RANKS = 5


def _rank_rows(rows: Sequence[RankRow]) -> list[list[object]]:
    return [[r.rank, r.model, f"{r.mean:.1f}", f"[{r.ci_low:.1f}, {r.ci_high:.1f}]", r.n, r.answers,
             ", ".join(r.outranks) or DASH, ", ".join(r.tied_with) or DASH] for r in rows]


RANK_HEADERS = ("rank", "model", "mean score", "95% CI", "items", "answers", "outranks", "tied with")


def _rank_table(rows: Sequence[RankRow], caption: str = "") -> str:
    return table(RANK_HEADERS, _rank_rows(rows), caption=caption, numeric_from=2, text_cols=(6, 7))


def _rank_chart(rows: Sequence[RankRow], title: str, colors: dict[str, str]) -> str:
    return bar_chart([Bar(r.model, r.mean, r.ci_low, r.ci_high, note=f"n={r.n}, rank {r.rank}",
                          color=colors.get(r.model, "")) for r in rows],
                     title=title, unit="mean score (0-100), whiskers: confidence interval", max_value=100.0)


def _ranked(title: str, rows: Sequence[RankRow], sizing: Sizing, colors: dict[str, str], *, key: str) -> str:
    return (f'<div class="category" data-category="{esc(key)}"><h3>{esc(title)}</h3>{_rank_table(rows)}'
            f"{para(sizing_text(sizing))}{_rank_chart(rows, f'ranking: {title}', colors)}</div>")


def _failures(rows: Sequence[FailureRow]) -> str:
    skipped = [f.model for f in rows if not f.items and not f.our_errors]
    rows = [f for f in rows if f.items or f.our_errors]
    note = para(f"Every call skipped (no access): {', '.join(skipped)}.") if skipped else ""
    return note + table(("model", "calls", "ok", "provider failures", "failure rate per item", "95% CI", "items",
                  "our failures", "skipped", "provider classes", "our classes"),
                 [[f.model, f.calls, f.ok, f.provider_errors, pct(f.rate), f"[{pct(f.ci_low)}, {pct(f.ci_high)}]",
                   f.items, f.our_errors, f.skipped, ", ".join(f"{k}: {v}" for k, v in f.provider_classes.items()) or DASH,
                   ", ".join(f"{k}: {v}" for k, v in f.our_classes.items()) or DASH] for f in rows],
                 text_cols=(9, 10))


def _rankings(rk: Rankings, colors: dict[str, str]) -> list[str]:
    parts = [para(f"Scores 0-100 ({rk.score_source}). Method: {rk.method}. As of {rk.generated_at}."),
             section("Overall", para(f"Each of the {len(rk.by_category)} categories weighs equally."),
                     _rank_table(rk.overall), para(sizing_text(rk.overall_sizing)),
                     _rank_chart(rk.overall, "overall ranking", colors))]
    if rk.by_source:
        parts.append(section("By score source", para("Each source ranked alone (its categories weigh equally): "
                                                      "rubric totals, judge verdicts, format adherence and tool "
                                                      "calls are different measures.")))
        parts += [_ranked(source, rows, rk.source_sizing.get(source, Sizing()), colors, key=f"source:{source}")
                  for source, rows in rk.by_source.items()]
    parts.append(section("By category"))
    parts += [_ranked(category, rows, rk.category_sizing.get(category, Sizing()), colors, key=category)
              for category, rows in sorted(rk.by_category.items())]
    if rk.failures:
        parts.append(section("Failed calls (apart from quality)", para(
            "The provider's failures as a rate per item with its interval; our own failures (a lost subagent, a "
            "limiter or client error, no key) are counted, never the model's."), _failures(rk.failures)))
    if rk.suspect_items:
        parts.append(section("Suspect items", para(
            "Every model (at least 3) scored 0 (suspect gold: check the expected answer) or 100 (too easy)."),
            table(("item", "category", "source", "phases", "verdict", "models"),
                  [[s.item_id, s.category, s.source, ", ".join(s.phases), s.verdict, s.models]
                   for s in rk.suspect_items], numeric_from=5)))
    return parts


def overview(data: DashboardData) -> str:
    o = data.overview
    dates = f"{o.dates[0]} … {o.dates[-1]}" if len(o.dates) > 1 else (o.dates[0] if o.dates else DASH)
    parts = [cards([("runs", str(o.runs)), ("lineages", str(o.lineages)), ("dates", dates),
                    ("models", str(len(o.models))), ("calls", str(o.calls)), ("success", pct(o.success_rate))]),
             para(f"Calls count once per key within a lineage (a run and its retries). Phases: "
                  f"{', '.join(o.phases) or DASH}. Success % = ok / (ok + error); skipped calls excluded.")]
    if data.selection is not None and data.selection.picks:
        s = data.selection
        parts.append(section("Model picks", table(("slot", "model", "reason"),
                                                  [[p.slot, p.model or DASH, p.reason] for p in s.picks],
                                                  numeric_from=99),
                             para(f"From {s.benchmarks_file} ({s.generated_at}).")))
    else:
        parts.append(section("Model picks", empty("model selection (MIN / DEFAULT / MAX)", "fleetbench select")))
    if data.rankings is not None and data.rankings.overall:
        parts.append(section("Top of the rankings", _rank_table(data.rankings.overall[:TOP_RANKS])))
    else:
        parts.append(section("Top of the rankings", empty("rankings", "fleetbench calibrate")))
    if data.model_totals:
        parts.append(section("Models", table(
            ("model", "calls", "ok", "error", "skipped", "success %", "mean score", "cost $"),
            [[m.model, m.calls, m.ok, m.error, m.skipped, pct(m.success_rate), num(m.mean_score),
              num(m.cost_usd, 4)] for m in data.model_totals])))
    else:
        parts.append(empty("runs", "fleetbench run"))
    problems = [[run, why] for run, why in sorted(o.unreadable.items())] + [["file", n] for n in data.notes]
    if problems:
        parts.append(section("Left out (unreadable)", table(("run / file", "why"), problems, numeric_from=99)))
    return "".join(parts)


def llm(data: DashboardData) -> str:
    parts: list[str] = []
    colors = color_map(data.overview.models)
    rk = data.rankings
    if rk is not None and rk.overall:
        parts += _rankings(rk, colors)
    else:
        parts.append(empty("rankings", "fleetbench calibrate"))
    if data.model_totals:
        scored = [m for m in data.model_totals if m.mean_score is not None]
        parts.append(section("Per model (all archived runs)", para(f"Mean score: {data.score_rule}."), table(
            ("model", "calls", "success %", "95% CI", "scored items", "mean score", "95% CI", "input tokens",
             "output tokens", "cost $"),
            [[m.model, m.calls, pct(m.success_rate), f"[{pct(m.success_low)}, {pct(m.success_high)}]", m.scored,
              num(m.mean_score), DASH if m.score_low is None else f"[{num(m.score_low)}, {num(m.score_high)}]",
              m.input_tokens, m.output_tokens, num(m.cost_usd, 4)] for m in data.model_totals])))
        if scored:
            parts.append(bar_chart([Bar(m.model, m.mean_score or 0.0, m.score_low, m.score_high,
                                        note=f"n={m.scored}", color=colors.get(m.model, "")) for m in scored],
                                   title="mean score per model (archive)", unit="0-100, whiskers: 95% interval",
                                   max_value=100.0))
        parts.append(section("Per phase x model", table(
            ("phase", "model", "variant", "calls", "ok", "error", "skipped", "success %", "TTFT p50 ms",
             "E2E p50 ms", "cost $", "errors"),
            [[s.phase, s.model, s.variant or DASH, s.calls, s.ok, s.error, s.skipped, pct(s.success_rate),
              num(s.ttft_p50_ms), num(s.e2e_p50_ms), num(s.cost_usd, 4),
              ", ".join(f"{k}: {v}" for k, v in s.errors.items()) or DASH] for s in data.phase_stats],
            numeric_from=3, text_cols=(11,))))
    return "".join(parts)


def _run_heading(c: JudgeComparison) -> str:
    flags = ", ".join(f"{k}={v}" for k, v in sorted(c.flags.items())) or DASH
    return (f'<h3 class="judge-run" data-run="{esc(c.run_id)}">Run {esc(c.run_id)}</h3>'
            f'<p class="note">Dataset {esc(c.dataset)} (hash <code>{esc(c.dataset_hash[:16])}</code>); '
            f"flags: {esc(flags)}. Comparable only with runs of the same dataset hash and flags.</p>")


def judges(data: DashboardData) -> str:
    blocks: list[str] = []
    for c in data.judges:
        if not c.bench_judges and not c.model_runs:
            continue
        parts = [_run_heading(c)]
        if c.bench_judges:
            parts.append(table(("benchmark judge", "items", "consistency", "error rate", "mean latency ms"),
                               [[b.judge, b.n_items, pct(b.consistency), pct(b.error_rate), num(b.mean_latency_ms)]
                                for b in c.bench_judges]))
            rated = [b for b in c.bench_judges if b.consistency is not None]
            if rated:
                parts.append(bar_chart([Bar(b.judge, 100 * (b.consistency or 0.0), note=f"n={b.n_items}")
                                        for b in rated], title=f"judge consistency, run {c.run_id}",
                                       unit="% of items whose repeated verdicts agree", max_value=100.0))
        if c.model_runs:
            metrics = sorted({k for m in c.model_runs for k in m.metrics})
            parts.append(table(("generation model", "judge", "production judge", "mode", *metrics),
                               [[m.generation_model, m.judge_model, m.production_judge_model, m.judge_eval_mode,
                                 *[num(m.metrics.get(k), 3) for k in metrics]] for m in c.model_runs],
                               caption="combinations (model_runs)", numeric_from=4))
        blocks.append("".join(parts))
    if not blocks:
        return empty("benchmark judges", "fleetbench sweep")
    return para("Consistency: share of items whose repeated verdicts agree; error rate: unparseable or "
                "failed judge calls over all judge calls.") + "".join(blocks)


def prod_judges(data: DashboardData) -> str:
    blocks: list[str] = []
    for c in data.judges:
        rows = c.production_judges
        if not rows:
            continue
        bars = [Bar(p.judge, 100 * p.f1, note=f"accuracy {pct(p.accuracy)}, n={p.n}")
                for p in rows if p.f1 is not None]  # no F1 (nothing flagged, no bad label) is not 0
        blocks.append(_run_heading(c) + table(
            ("production judge", "n", "errors", "accuracy", "precision", "recall", "F1", "avg latency ms",
             "TP", "FP", "TN", "FN"),
            [[p.judge, p.n, p.errors, pct(p.accuracy), pct(p.precision), pct(p.recall), pct(p.f1),
              num(p.avg_latency_ms), p.tp, p.fp, p.tn, p.fn] for p in rows])
            + (bar_chart(bars, title=f"production judge F1, run {c.run_id}", unit="F1 %", max_value=100.0)
               if bars else ""))
    if not blocks:
        return empty("production judges", "fleetbench sweep")
    return para("Against the dataset's labels, positive class = \"bad\" (the judge flags a bad answer); "
                "a failed or unparseable verdict counts in errors, not in the confusion counts.") + "".join(blocks)
