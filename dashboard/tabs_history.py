"""The History tab: every dated run, scores and success over dates, routing weight versions
and the surprising-results log.

Why per run and per date, with each run's own records: history answers "what happened on
that day", so a retry run shows what it re-did, and a model that got worse shows as a dip
instead of being averaged away by the archive-wide numbers of the comparison tabs.
"""

from __future__ import annotations

from dashboard.html import DASH, empty, num, para, pct, section, table
from dashboard.model import DashboardData
from dashboard.svg import Line, color_map, line_chart
from harness.intervals import Interval


def _runs(data: DashboardData) -> str:
    h = data.history
    models = sorted({m for r in h.runs for m in r.mean_score})
    rows = [[r.date, r.run_id, r.status, r.parent_run or DASH, r.records, pct(r.success_rate),
             ", ".join(r.phases) or DASH, *[_score(r.scores.get(m)) for m in models]] for r in h.runs]
    return table(("date", "run", "status", "parent run", "records", "success %", "phases",
                  *[f"score: {m}" for m in models]), rows, numeric_from=4, text_cols=(6,))


def _score(interval: Interval | None) -> str:
    """A run's score for one model: mean [interval] (items)."""
    if interval is None or interval.point is None:
        return DASH
    return f"{interval.point:.1f} [{interval.lo:.1f}, {interval.hi:.1f}] ({interval.n})"


def _charts(data: DashboardData) -> str:
    points = data.history.dates
    labels = [p.date for p in points]
    models = sorted({m for p in points for m in p.mean_score})
    colors = color_map(data.overview.models)
    parts: list[str] = ['<div class="charts">']
    if models:
        parts.append(line_chart([Line(m, [p.mean_score.get(m) for p in points], colors.get(m, "")) for m in models], labels,
                                title="mean score per model over dates", ylabel="score (0-100)", max_value=100.0))
    parts.append(line_chart([Line("all models", [None if p.success_rate is None else 100 * p.success_rate
                                                 for p in points])], labels,
                            title="success % over dates", ylabel="success %", max_value=100.0))
    parts.append("</div>")
    return "".join(parts)


def _weights(data: DashboardData) -> str:
    w = data.history.weights
    if w is None or (not w.weights and not w.history):
        return empty("routing weights", "fleetbench calibrate")
    categories = sorted({c for per in w.weights.values() for c in per})
    parts = [para(f"Version {w.version} ({w.updated_at or DASH}); EMA learning rate {w.learning_rate:g}, a change "
                  f"is applied when it exceeds {w.threshold:.0%}."),
             table(("model", *categories), [[m, *[num(per.get(c), 3) for c in categories]]
                                            for m, per in sorted(w.weights.items())], caption="current weights")]
    if w.history:
        rows: list[list[object]] = []
        for v in w.history:
            applied = [c for c in v.changes if c.applied]
            moved = "; ".join(f"{c.model}/{c.category}: {num(c.old, 3)} → {num(c.new, 3)}" for c in applied)
            rows.append([v.version, v.updated_at, ", ".join(v.runs) or DASH, len(v.changes), len(applied),
                         moved or DASH])
        parts.append(table(("version", "updated", "evidence runs", "changes", "applied", "applied changes"),
                           rows, caption="versions", numeric_from=99))
    return "".join(parts)


def _surprises(data: DashboardData) -> str:
    s = data.history.surprises
    if not s:
        return para("No surprising results logged (a category's leader differing from the expected one).")
    return table(("date", "category", "expected leader", "actual leader", "expected score", "actual score", "runs"),
                 [[x.date, x.category, x.expected_leader, x.actual_leader, num(x.expected_score),
                   num(x.actual_score), ", ".join(x.runs) or DASH] for x in s], numeric_from=4, text_cols=(6,))


def history(data: DashboardData) -> str:
    if not data.history.runs:
        return empty("run history", "fleetbench run")
    return "".join([para(f"Each run with its own records. Score: {data.score_rule}; shown as mean [95% interval] "
                         "(items)."), _runs(data), _charts(data),
                    section("Routing weight versions", _weights(data)),
                    section("Surprising results", _surprises(data))])
