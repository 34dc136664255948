"""`fleetbench calibrate`: rankings and EMA routing weights from the archive."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cluster.cli_common import input_errors_exit_2, out


def register(app: typer.Typer) -> None:
    @app.command("calibrate")
    @input_errors_exit_2
    def calibrate_command(
        runs_dir: Annotated[Path, typer.Option("--runs-dir", help="archive root")] = Path("runs"),
        config: Annotated[Path | None, typer.Option(help="fleetbench config YAML")] = None,
        learning_rate: Annotated[float | None, typer.Option(help="EMA learning rate (default 0.1)")] = None,
        threshold: Annotated[float | None, typer.Option(help="apply changes above this share (0.10)")] = None,
    ) -> None:
        """Score every archived answer, rank models with bootstrap CIs, move routing weights."""
        from agents.config import load_config
        from calibration.calibrate import calibrate
        from harness.errors import InputError

        for name, value in (("--learning-rate", learning_rate), ("--threshold", threshold)):
            if value is not None and not 0 <= value <= 1:
                raise InputError(name, f"must be between 0 and 1, got {value}")
        settings = load_config(config).calibration
        result = calibrate(runs_dir, settings, learning_rate=learning_rate, threshold=threshold)
        table = Table(title=f"routing weights v{result.weights.version}: "
                            f"{len(result.applied)} of {len(result.changes)} changes applied "
                            f"(new runs: {len(result.new_runs)})")
        for col in ("model", "category", "old", "observed", "new", "applied"):
            table.add_column(col)
        for c in result.changes:
            table.add_row(c.model, c.category, "-" if c.old is None else f"{c.old:.3f}", f"{c.observed:.3f}",
                          f"{c.new:.3f}", "yes" if c.applied else "no (under threshold)")
        out.print(table)
        ranks = Table(title=f"overall ranking ({result.rankings.confidence:.0%} bootstrap CI)")
        for col in ("rank", "model", "mean", "CI", "n", "tied with"):
            ranks.add_column(col)
        for r in result.rankings.overall:
            ranks.add_row(str(r.rank), r.model, f"{r.mean:.1f}", f"[{r.ci_low:.1f}, {r.ci_high:.1f}]", str(r.n),
                          ", ".join(r.tied_with) or "-")
        out.print(ranks)
        for s in result.surprises:
            out.print(f"surprise: {s.actual_leader} beat {s.expected_leader} at {s.category} "
                      f"({s.actual_score:.1f} vs {s.expected_score:.1f})")
        for run_id, why in result.unreadable.items():
            out.print(f"left out unreadable run {run_id}: {why}")
        out.print("wrote " + ", ".join(str(p) for p in result.files))
