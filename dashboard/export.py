"""JSON and CSV exports of the dashboard's data into `<runs-dir>/exports/`.

Why both: the JSON is the whole `DashboardData` tree (decodes back into the same type, for
scripts), the CSVs are one flat table per dashboard table (for spreadsheets). Raw numbers,
not the page's formatted text: shares stay 0..1, missing values are empty cells. Every table
is written even when empty (header only), so a consumer can rely on the file set.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import msgspec

from archive.store import atomic_write_bytes, atomic_write_text
from dashboard.model import DashboardData

EXPORTS_DIR = "exports"
JSON_NAME = "dashboard.json"
Table = tuple[list[str], list[list[object]]]


def _value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ";".join(_value(v) for v in value)
    return str(value)


def to_csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_value(v) for v in row] for row in rows)
    return buf.getvalue()


def _decision_tables(d: DashboardData) -> dict[str, Table]:
    rank_rows: list[list[object]] = []
    sizing_rows: list[list[object]] = []
    rk = d.rankings
    if rk is not None:
        scopes = [("overall", "overall", rk.overall, rk.overall_sizing),
                  *[("source", s, rows, rk.source_sizing.get(s)) for s, rows in rk.by_source.items()],
                  *[("category", c, rows, rk.category_sizing.get(c)) for c, rows in sorted(rk.by_category.items())]]
        rank_rows = [[kind, scope, r.rank, r.model, r.mean, r.ci_low, r.ci_high, r.n, r.answers, r.outranks,
                      r.tied_with] for kind, scope, rows, _ in scopes for r in rows]
        sizing_rows = [[kind, scope, z.pairs, z.shared_items, z.effective_items, z.detectable]
                       for kind, scope, _, z in scopes if z is not None]
    picks = d.selection.picks if d.selection is not None else []
    judges = d.judges
    w = d.history.weights
    return {
        "rankings": (["table", "scope", "rank", "model", "mean", "ci_low", "ci_high", "n", "answers", "outranks",
                      "tied_with"], rank_rows),
        "ranking_sizing": (["table", "scope", "pairs", "shared_items", "effective_items", "detectable_net_win_rate"],
                           sizing_rows),
        "failures": (["model", "calls", "ok", "provider_errors", "our_errors", "skipped", "items", "rate", "ci_low",
                      "ci_high", "provider_classes", "our_classes"],
                     [[f.model, f.calls, f.ok, f.provider_errors, f.our_errors, f.skipped, f.items, f.rate, f.ci_low,
                       f.ci_high, [f"{k}={v}" for k, v in f.provider_classes.items()],
                       [f"{k}={v}" for k, v in f.our_classes.items()]] for f in (rk.failures if rk else [])]),
        "suspect_items": (["item_id", "category", "source", "phases", "verdict", "models"],
                          [[x.item_id, x.category, x.source, x.phases, x.verdict, x.models]
                           for x in (rk.suspect_items if rk else [])]),
        "selection": (["slot", "model", "reason"], [[p.slot, p.model, p.reason] for p in picks]),
        "bench_judges": (["run_id", "dataset", "dataset_hash", "judge", "n_items", "consistency", "error_rate",
                          "mean_latency_ms"],
                         [[c.run_id, c.dataset, c.dataset_hash, b.judge, b.n_items, b.consistency, b.error_rate,
                           b.mean_latency_ms] for c in judges for b in c.bench_judges]),
        "production_judges": (["run_id", "dataset", "dataset_hash", "judge", "n", "errors", "accuracy", "precision",
                               "recall", "f1", "avg_latency_ms", "tp", "fp", "tn", "fn"],
                              [[c.run_id, c.dataset, c.dataset_hash, p.judge, p.n, p.errors, p.accuracy, p.precision,
                                p.recall, p.f1, p.avg_latency_ms, p.tp, p.fp, p.tn, p.fn]
                               for c in judges for p in c.production_judges]),
        "model_runs": (["run_id", "generation_model", "judge_model", "production_judge_model", "judge_eval_mode",
                        "metric", "value"],
                       [[c.run_id, m.generation_model, m.judge_model, m.production_judge_model, m.judge_eval_mode,
                         k, v] for c in judges for m in c.model_runs for k, v in sorted(m.metrics.items())]),
        "routing_weights": (["model", "category", "weight"],
                            [[m, c, v] for m, per in sorted((w.weights if w else {}).items())
                             for c, v in sorted(per.items())]),
        "weight_changes": (["version", "updated_at", "model", "category", "old", "new", "observed", "applied"],
                           [[v.version, v.updated_at, c.model, c.category, c.old, c.new, c.observed, c.applied]
                            for v in (w.history if w else []) for c in v.changes]),
        "surprises": (["date", "category", "expected_leader", "actual_leader", "expected_score", "actual_score",
                       "runs"],
                      [[s.date, s.category, s.expected_leader, s.actual_leader, s.expected_score, s.actual_score,
                        s.runs] for s in d.history.surprises]),
    }


def _measurement_tables(d: DashboardData) -> dict[str, Table]:
    h = d.history
    tu = d.tool_use
    return {
        "runs": (["date", "run_id", "status", "parent_run", "lineage", "records", "ok", "error", "skipped",
                  "success_rate", "phases", "models"],
                 [[r.date, r.run_id, r.status, r.parent_run, r.lineage, r.records, r.ok, r.error, r.skipped,
                   r.success_rate, r.phases, r.models] for r in h.runs]),
        "run_scores": (["date", "run_id", "model", "mean_score", "score_low", "score_high", "items"],
                       [[r.date, r.run_id, m, s.point, s.lo, s.hi, s.n] for r in h.runs for m, s in r.scores.items()]),
        "dates": (["date", "runs", "records", "success_rate"],
                  [[p.date, p.runs, p.records, p.success_rate] for p in h.dates]),
        "date_scores": (["date", "model", "mean_score", "score_low", "score_high", "items"],
                        [[p.date, m, s.point, s.lo, s.hi, s.n] for p in h.dates for m, s in p.scores.items()]),
        "models": (["model", "calls", "ok", "error", "skipped", "success_rate", "success_low", "success_high",
                    "input_tokens", "output_tokens", "cost_usd", "scored_items", "mean_score", "score_low",
                    "score_high"],
                   [[m.model, m.calls, m.ok, m.error, m.skipped, m.success_rate, m.success_low, m.success_high,
                     m.input_tokens, m.output_tokens, m.cost_usd, m.scored, m.mean_score, m.score_low, m.score_high]
                    for m in d.model_totals]),
        "phase_stats": (["phase", "model", "variant", "calls", "ok", "error", "skipped", "success_rate",
                         "ttft_p50_ms", "ttft_p95_ms", "e2e_p50_ms", "e2e_p95_ms", "input_tokens", "output_tokens",
                         "cost_usd", "errors"],
                        [[s.phase, s.model, s.variant, s.calls, s.ok, s.error, s.skipped, s.success_rate,
                          s.ttft_p50_ms, s.ttft_p95_ms, s.e2e_p50_ms, s.e2e_p95_ms, s.input_tokens, s.output_tokens,
                          s.cost_usd, [f"{k}={v}" for k, v in s.errors.items()]] for s in d.phase_stats]),
        "latency": (["model", "ok", "ttft_p50_ms", "ttft_p95_ms", "e2e_p50_ms", "e2e_p95_ms", "itl_p50_ms"],
                    [[r.model, r.ok, r.ttft_p50_ms, r.ttft_p95_ms, r.e2e_p50_ms, r.e2e_p95_ms, r.itl_p50_ms]
                     for r in d.latency.rows]),
        "streaming_ttft": (["model", "calls", "ok", "ttft_p50_ms", "ttft_p95_ms", "itl_p50_ms", "tpot_p50_ms",
                            "e2e_p50_ms", "pairs", "pearson_r", "labels"],
                           [[s.model, s.calls, s.ok, s.ttft_p50_ms, s.ttft_p95_ms, s.itl_p50_ms, s.tpot_p50_ms,
                             s.e2e_p50_ms, s.pairs, s.pearson_r, s.labels] for s in d.latency.streaming]),
        "long_context": (["model", "context_tokens", "payload_depth", "label", "calls", "ok", "adherence",
                          "prompt_tokens_p50", "ttft_p50_ms", "ttft_p95_ms", "e2e_p50_ms", "e2e_p95_ms",
                          "context_overflow", "other_errors", "top_failure"],
                         [[r.model, r.context_tokens, r.payload_depth, r.label, r.calls, r.ok, r.adherence,
                           r.prompt_tokens_p50, r.ttft_p50_ms, r.ttft_p95_ms, r.e2e_p50_ms, r.e2e_p95_ms,
                           r.context_overflow, r.other_errors, r.top_failure] for r in d.long_context]),
        "tool_use": (["model", "variant", "modes", "scored", "passed", "pass_rate", "items", "rate", "ci_low",
                      "ci_high", "errors"],
                     [[r.model, r.variant, r.modes, r.scored, r.passed, r.pass_rate, r.items, r.rate, r.ci_low,
                       r.ci_high, r.errors] for r in tu.rows]),
        "tool_categories": (["model", "variant", "category", "items", "rate", "ci_low", "ci_high"],
                            [[r.model, r.variant, r.category, r.items, r.rate, r.ci_low, r.ci_high]
                             for r in tu.categories]),
        "tool_failures": (["model", "category", "failure", "count"],
                          [[m, c, f, n] for m, by in sorted(tu.failures.items()) for c, counts in sorted(by.items())
                           for f, n in counts.items()]),
        "tool_tiers": (["model", "best_variant", "best_rate", "ci_low", "ci_high", "tier", "label"],
                       [[t.model, t.best_variant, t.best_rate, t.ci_low, t.ci_high, t.tier, t.label]
                        for t in tu.tiers]),
    }


def tables(data: DashboardData) -> dict[str, Table]:
    """Every exported table by file stem, in a stable order."""
    return {**_measurement_tables(data), **_decision_tables(data)}


def write_exports(data: DashboardData, runs_dir: Path) -> list[Path]:
    """`exports/dashboard.json` and one CSV per table, each replaced atomically."""
    out_dir = runs_dir / EXPORTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / JSON_NAME
    atomic_write_bytes(json_path, msgspec.json.format(msgspec.json.encode(data), indent=2) + b"\n")
    written = [json_path]
    for stem, (header, rows) in tables(data).items():
        path = out_dir / f"{stem}.csv"
        atomic_write_text(path, to_csv(header, rows))
        written.append(path)
    return written
