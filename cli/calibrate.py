"""`fleetbench calibrate`: rankings and EMA routing weights from the archive.

Why the applied changes get the table and the rest a count: under the threshold a change
is logged in routing_weights.json but moves nothing, and a run with 13 models x 10
categories would otherwise print 130 rows to say "nothing happened".
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.common import input_errors_exit_2, out

if TYPE_CHECKING:
    from calibration.calibrate import CalibrateResult
    from calibration.schema import RankRow

TOP_ROWS = 10


def _ranking_table(rows: list[RankRow]) -> Table:
    table = Table()
    for col in ("rank", "model", "mean", "CI", "items", "outranks", "tied with"):
        table.add_column(col)
    for r in rows[:TOP_ROWS]:
        table.add_row(str(r.rank), escape(r.model), f"{r.mean:.1f}", escape(f"[{r.ci_low:.1f}, {r.ci_high:.1f}]"),
                      str(r.n), escape(", ".join(r.outranks)) or "-", escape(", ".join(r.tied_with)) or "-")
    return table


def _say(text: str) -> None:
    out.print(text, markup=False, highlight=False)


def _print(result: CalibrateResult) -> None:
    from calibration.decisions_md import sizing_text

    applied = result.applied
    _say(f"routing weights v{result.weights.version}: {len(applied)} of {len(result.changes)} changes "
              f"applied (new runs: {', '.join(result.new_runs) or 'none'})")
    table = Table(title="applied weight changes")
    for col in ("model", "category", "old", "observed", "new"):
        table.add_column(col)
    for c in applied:
        table.add_row(escape(c.model), escape(c.category), "-" if c.old is None else f"{c.old:.3f}", f"{c.observed:.3f}",
                      f"{c.new:.3f}")
    if applied:
        out.print(table)
    if len(result.changes) > len(applied):
        _say(f"{len(result.changes) - len(applied)} change(s) under the threshold "
                  f"({result.weights.threshold:.0%}) logged but not applied")
    rankings = result.rankings
    sources = ", ".join(f"{n} {source}" for source, n in sorted(result.sources.items())) or "none"
    _say(f"scored records: {sources}")
    if rankings.overall:
        _say(f"overall ranking ({rankings.confidence:.0%} intervals over items; categories weigh equally; a model "
             f"outranks another only when it wins significantly more of their shared items; top {TOP_ROWS}):")
        out.print(_ranking_table(rankings.overall))
        _say(sizing_text(rankings.overall_sizing))
    else:
        _say("no scored records in the archive yet: nothing to rank")
    leaders = [f"{cat}: {rows[0].model}" + (f" (tied with {', '.join(rows[0].tied_with)})" if rows[0].tied_with
                                             else "") for cat, rows in rankings.by_category.items() if rows]
    if leaders:
        _say("category leaders: " + "; ".join(leaders))
    for f in rankings.failures:
        if f.provider_errors or f.our_errors:
            _say(f"failed calls, {f.model}: {f.provider_errors} the provider's (rate {100 * (f.rate or 0):.1f}% "
                 f"[{100 * f.ci_low:.1f}, {100 * f.ci_high:.1f}] per item), {f.our_errors} ours (not the model's)")
    for item in rankings.suspect_items:
        _say(f"suspect item: {item.item_id} ({item.category}; {', '.join(item.phases)}): {item.verdict}, "
             f"{item.models} models")
    for s in result.surprises:
        _say(f"surprise: {s.actual_leader} beat {s.expected_leader} at {s.category} "
                  f"({s.actual_score:.1f} vs {s.expected_score:.1f})")
    if result.pending_runs:
        _say(f"left for a later calibrate (still running or interrupted): {', '.join(result.pending_runs)}")
    for run_id, why in result.unreadable.items():
        _say(f"left out unreadable run {run_id}: {why}")
    _say("wrote " + ", ".join(str(p) for p in result.files))


def register(app: typer.Typer) -> None:
    @app.command("calibrate")
    @input_errors_exit_2
    def calibrate_command(
        runs_dir: Annotated[Path, typer.Option("--runs-dir", help="archive root")] = Path("runs"),
        config: Annotated[Path | None, typer.Option(help="fleetbench config YAML")] = None,
        learning_rate: Annotated[float | None, typer.Option(
            help="EMA learning rate in (0, 1] (config calibration.ema.learning_rate, default 0.1)")] = None,
        threshold: Annotated[float | None, typer.Option(
            help="apply a change only above this relative size (config default 0.10)")] = None,
        bootstrap_samples: Annotated[int, typer.Option(
            help="accepted for old scripts; the intervals are closed-form and draw nothing")] = 1000,
    ) -> None:
        """Score every archived answer, rank models on shared items, move routing weights."""
        from agents.config import load_config
        from calibration.calibrate import calibrate
        from harness.errors import InputError

        if learning_rate is not None and not 0 < learning_rate <= 1:
            raise InputError("--learning-rate", f"must be in (0, 1], got {learning_rate}")
        if threshold is not None and not threshold >= 0:
            raise InputError("--threshold", f"must be >= 0, got {threshold}")
        if bootstrap_samples < 100:
            raise InputError("--bootstrap-samples", f"must be >= 100, got {bootstrap_samples}")
        settings = load_config(config).calibration
        overrides = {k: v for k, v in (("learning_rate", learning_rate), ("threshold", threshold))
                     if v is not None}
        settings = settings.model_copy(update={"ema": settings.ema.model_copy(update=overrides)})
        _print(calibrate(runs_dir, settings, resamples=bootstrap_samples))
