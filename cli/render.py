"""Terminal rendering (rich) of run results and the archive; the data comes from archive/."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from agents.phases import make_phase
from archive.browse import list_runs_table, show_run
from archive.stats import PhaseModelStats
from archive.stats_md import fmt_cost, fmt_ms, fmt_pct
from archive.store import RunDir

if TYPE_CHECKING:
    from cluster.run_watch import RunResult


def stats_table(rows: list[PhaseModelStats], title: str | None = None) -> Table:
    table = Table(title=title)
    for column in ("phase", "model", "calls", "success", "TTFT p50", "TTFT p95", "E2E p50", "E2E p95",
                   "tokens in/out", "cost", "errors"):
        table.add_column(column, justify="left" if column in ("phase", "model", "errors") else "right")
    for row in rows:
        errors = ", ".join(f"{k} {v}" for k, v in sorted(row.errors.items())) or "-"
        table.add_row(row.phase, escape(row.label), str(row.calls), fmt_pct(row.success_rate),
                      fmt_ms(row.ttft_p50_ms), fmt_ms(row.ttft_p95_ms), fmt_ms(row.e2e_p50_ms),
                      fmt_ms(row.e2e_p95_ms), f"{row.input_tokens}/{row.output_tokens}",
                      fmt_cost(row.cost_usd), errors)
    return table


def print_phase_sections(console: Console, run_dir: Path, run_id: str) -> None:
    """Each phase's own section (failure modes, tiers, verdicts...), as the summary has it."""
    records = RunDir(run_dir, run_id).load_records()
    for phase_name in sorted({r.phase for r in records}):
        section = make_phase(phase_name).summary_section([r for r in records if r.phase == phase_name])
        if section:
            console.print(Markdown(f"### {phase_name}\n\n{section}"))


def print_run_result(console: Console, result: RunResult) -> None:
    detail = show_run(result.run_dir.parent.parent, result.run_id)
    console.print(stats_table(detail.stats, title=f"run {result.run_id} ({result.status})"))
    print_phase_sections(console, result.run_dir, result.run_id)
    restarts = ", ".join(f"{p}: {n}" for p, n in result.restarts.items() if n)
    if restarts:
        console.print(f"subagents restarted: {restarts}")
    console.print(f"archive: {result.run_dir}")
    console.print(f"summary: {result.summary_path}")


def print_runs_table(console: Console, runs_dir: Path) -> None:
    infos = list_runs_table(runs_dir)
    if not infos:
        console.print(f"no runs under {runs_dir}")
        return
    table = Table(title=f"runs in {runs_dir}")
    for column in ("run id", "date", "status", "phases", "models", "records", "ok", "parent"):
        table.add_column(column)
    for info in infos:
        table.add_row(info.run_id, info.date, info.status, ",".join(info.phases), ",".join(info.models),
                      str(info.n_records), fmt_pct(info.ok_rate), info.parent or "-")
    console.print(table)


def print_run_detail(console: Console, runs_dir: Path, run_id: str) -> None:
    detail = show_run(runs_dir, run_id)
    info = detail.info
    console.print(f"[bold]{info.run_id}[/]  {info.date}  status={info.status}  parent={info.parent or '-'}")
    console.print(f"path: {info.path}")
    console.print(f"phases: {', '.join(info.phases)}   models: {', '.join(info.models)}")
    console.print(stats_table(detail.stats))
