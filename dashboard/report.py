"""`fleetbench report`'s work: collect, render the page, write it and the exports.

Why the tab list lives here: the page, the CLI's one-line summaries and the browser test
all need the same tab keys (`data-tab` values, `tab-<key>` ids); one table of tabs keeps
them from drifting apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from archive.store import atomic_write_text
from dashboard import tabs_compare, tabs_history, tabs_perf
from dashboard.collect import collect
from dashboard.export import write_exports
from dashboard.html import TabRenderer, page, pct
from dashboard.model import DashboardData

DASHBOARD_HTML = "dashboard.html"

TABS: list[tuple[str, str, TabRenderer]] = [
    ("overview", "Overview", tabs_compare.overview),
    ("llm", "LLM comparison", tabs_compare.llm),
    ("judges", "Judge comparison", tabs_compare.judges),
    ("prod-judges", "Production judge comparison", tabs_compare.prod_judges),
    ("latency", "Latency and TTFT", tabs_perf.latency),
    ("long-context", "Long context", tabs_perf.long_context),
    ("tool-use", "Tool use", tabs_perf.tool_use),
    ("history", "History", tabs_history.history),
]


def render(data: DashboardData) -> str:
    return page(data, TABS)


def _overview(d: DashboardData) -> str:
    o = d.overview
    return (f"{o.runs} runs over {len(o.dates)} dates, {len(o.models)} models, {o.calls} calls, "
            f"success {pct(o.success_rate)}" + (f", {len(o.unreadable)} unreadable runs" if o.unreadable else ""))


def _llm(d: DashboardData) -> str:
    if d.rankings is None or not d.rankings.overall:
        return f"no rankings yet (run `fleetbench calibrate`); {len(d.model_totals)} models in the archive"
    top = d.rankings.overall[0]
    ties = f", tied with {len(top.tied_with)}" if top.tied_with else ""
    return (f"{len(d.rankings.overall)} ranked models, {len(d.rankings.by_category)} categories; "
            f"rank 1: {top.model} ({top.mean:.1f}){ties}")


def _judges(d: DashboardData) -> str:
    n = sum(len(c.bench_judges) for c in d.judges)
    return f"{n} benchmark judge rows from {len(d.judges)} runs" if n else "no data yet (run `fleetbench sweep`)"


def _prod(d: DashboardData) -> str:
    n = sum(len(c.production_judges) for c in d.judges)
    return f"{n} production judge rows" if n else "no data yet (run `fleetbench sweep`)"


def _latency(d: DashboardData) -> str:
    if not d.latency.rows:
        return "no latency data"
    return f"{len(d.latency.rows)} models, {len(d.latency.streaming)} with streaming-ttft labels"


def _long(d: DashboardData) -> str:
    if not d.long_context:
        return "no data yet (run the long-context phase)"
    lengths = sorted({r.context_tokens for r in d.long_context})
    overflow = sum(r.context_overflow for r in d.long_context)
    return f"{len({r.model for r in d.long_context})} models x {len(lengths)} lengths, {overflow} context_overflow"


def _tools(d: DashboardData) -> str:
    rows = d.tool_use.rows
    if not rows:
        return "no data yet (run the tool-use phase)"
    return (f"{len({r.model for r in rows})} models x {len({r.variant for r in rows})} prompt variants, "
            f"{len(d.tool_use.tiers)} tiered")


def _history(d: DashboardData) -> str:
    w = d.history.weights
    weights = f"routing weights v{w.version}" if w is not None and w.weights else "no routing weights"
    return f"{len(d.history.runs)} runs on {len(d.history.dates)} dates, {weights}, {len(d.history.surprises)} surprises"


SUMMARIES: dict[str, Callable[[DashboardData], str]] = {
    "overview": _overview, "llm": _llm, "judges": _judges, "prod-judges": _prod, "latency": _latency,
    "long-context": _long, "tool-use": _tools, "history": _history,
}


@dataclass
class ReportResult:
    html_path: Path
    exports: list[Path]
    summaries: list[tuple[str, str]]  # (tab title, one line)
    data: DashboardData


def build_report(runs_dir: Path, out: Path | None = None) -> ReportResult:
    """Collect first (bad input raises before anything is written), then write the page and
    the exports, each file replaced atomically."""
    data = collect(runs_dir)
    html_path = out if out is not None else Path(data.runs_dir) / DASHBOARD_HTML
    html_text = render(data)
    exports = write_exports(data, Path(data.runs_dir))
    html_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(html_path, html_text)
    return ReportResult(html_path=html_path, exports=exports, data=data,
                        summaries=[(title, SUMMARIES[key](data)) for key, title, _ in TABS])
