"""`fleetbench select` and `fleetbench route`: MIN/DEFAULT/MAX picks and the switch rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.common import DEFAULT_RUNS_DIR, RunsDir, input_errors_exit_2, out


def run_selection(runs_dir: Path, config: Path | None, benchmarks: Path | None,
                  default_cap: float | None = None, max_cap: float | None = None) -> Any:
    from agents.config import load_config
    from calibration.select_run import write_selection

    return write_selection(runs_dir, load_config(config).calibration.selection, benchmarks,
                           default_cap=default_cap, max_cap=max_cap)


def register(app: typer.Typer) -> None:
    @app.command("select")
    @input_errors_exit_2
    def select_command(
        runs_dir: RunsDir = DEFAULT_RUNS_DIR,
        benchmarks: Annotated[Path | None, typer.Option(help="public benchmark data YAML")] = None,
        config: Annotated[Path | None, typer.Option(help="fleetbench config YAML")] = None,
        default_cap: Annotated[float | None, typer.Option(help="DEFAULT price cap, $/1M tokens")] = None,
        max_cap: Annotated[float | None, typer.Option(help="MAX price cap, $/1M tokens")] = None,
    ) -> None:
        """MIN (best free), DEFAULT (best value under a cap), MAX (best under a higher cap)."""
        selection = run_selection(runs_dir, config, benchmarks, default_cap, max_cap)
        table = Table(title=f"model selection ({selection.benchmarks_file})")
        for col in ("model", "overall", "$/1M", "value", "availability", "measured", "final", "note"):
            table.add_column(col)
        for r in selection.table:
            table.add_row(r.model, f"{r.overall:.1f}", f"{r.cost_per_m:.3f}", f"{r.value:.1f}",
                          "-" if r.availability is None else f"{100 * r.availability:.0f}%",
                          "-" if r.measured_score is None else f"{r.measured_score:.1f}", f"{r.final:.3f}",
                          r.note or ("" if r.eligible else "ineligible"))
        out.print(table)
        for pick in selection.picks:
            out.print(f"{pick.slot:8} {pick.model or '-':45} {pick.reason}")
        out.print(f"wrote {runs_dir / 'selection.json'}")

    @app.command("route")
    @input_errors_exit_2
    def route_command(
        runs_dir: RunsDir = DEFAULT_RUNS_DIR,
        importance: Annotated[str, typer.Option(help="normal or critical")] = "normal",
        complexity: Annotated[str, typer.Option(help="simple, medium or complex")] = "medium",
        task_type: Annotated[str, typer.Option(help="free text, e.g. coding, summary")] = "",
        previous_score: Annotated[float | None, typer.Option(help="last answer's score, 0-100")] = None,
        rate_limited: Annotated[bool, typer.Option("--rate-limited", help="the default model is rate limited")] = False,
        cost_concerns: Annotated[str, typer.Option(help="low or high")] = "low",
        best: Annotated[bool, typer.Option("--best", help="the user asks for the best model")] = False,
        prototyping: Annotated[bool, typer.Option("--prototyping", help="testing or prototyping")] = False,
        config: Annotated[Path | None, typer.Option(help="fleetbench config YAML")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    ) -> None:
        """Which of MIN/DEFAULT/MAX for this task, and why."""
        from agents.config import load_config
        from calibration.decisions_md import read_struct
        from calibration.routing import RouteRequest, route
        from calibration.schema import SELECTION_JSON, Selection
        from harness.errors import InputError

        for flag, value, allowed in (("--importance", importance, ("normal", "critical")),
                                     ("--complexity", complexity, ("simple", "medium", "complex")),
                                     ("--cost-concerns", cost_concerns, ("low", "high"))):
            if value not in allowed:
                raise InputError(flag, f"expected one of {', '.join(allowed)}, got {value!r}")
        if previous_score is not None and not 0 <= previous_score <= 100:
            raise InputError("--previous-score", f"must be 0-100, got {previous_score}")
        selection = read_struct(runs_dir / SELECTION_JSON, Selection) or run_selection(runs_dir, config, None)
        decision = route(selection, RouteRequest(
            importance=importance, complexity=complexity, task_type=task_type, previous_score=previous_score,
            rate_limited=rate_limited, cost_concerns=cost_concerns, best=best, prototyping=prototyping),
            low_score=load_config(config).calibration.selection.low_score_threshold)
        if as_json:
            out.print_json(json.dumps({"slot": decision.slot, "model": decision.model, "reason": decision.reason}))
        else:
            out.print(f"{decision.slot}: {decision.model or '-'} ({decision.reason})")
