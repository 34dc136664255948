"""`fleetbench runs list|show` and `fleetbench aggregate`: the archive, read and merged."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import DEFAULT_RUNS_DIR, RunsDir, input_errors_exit_2, out
from harness.errors import InputError

runs_app = typer.Typer(help="Browse the run archive.", no_args_is_help=True)


@input_errors_exit_2
def aggregate_command(
    runs_dir: RunsDir = DEFAULT_RUNS_DIR,
    config: Annotated[Path | None, typer.Option(help="fleetbench config YAML")] = None,
) -> None:
    """Merge every archived run into AGGREGATE_SUMMARY.md and aggregate.json (with the phase
    and decision sections; run `fleetbench calibrate` to refresh the decisions)."""
    from agents.config import load_config
    from agents.post_run import post_run

    if not runs_dir.is_dir():
        raise InputError(str(runs_dir), "no such run archive directory")
    post_run(runs_dir, load_config(config), calibrate_now=False)
    out.print(f"wrote {runs_dir / 'AGGREGATE_SUMMARY.md'} and {runs_dir / 'aggregate.json'}")


@runs_app.command("list")
@input_errors_exit_2
def runs_list(runs_dir: RunsDir = DEFAULT_RUNS_DIR) -> None:
    """One line per archived run, oldest first."""
    from cli.render import print_runs_table

    print_runs_table(out, runs_dir)


@runs_app.command("show")
@input_errors_exit_2
def runs_show(run_id: str, runs_dir: RunsDir = DEFAULT_RUNS_DIR) -> None:
    """A run's manifest and per phase x model statistics."""
    from cli.render import print_run_detail

    print_run_detail(out, runs_dir, run_id)


def register(app: typer.Typer) -> None:
    app.command("aggregate")(aggregate_command)
    app.add_typer(runs_app, name="runs")
