"""`fleetbench` command line (typer + rich).

Why errors are caught here: bad input must end in one clear line naming the file and
line or field, exit code 2, no traceback; a completed run exits 0 even with failed calls.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from cluster.cli_common import input_errors_exit_2, out
from cluster.cli_models import models_app
from harness.errors import InputError
from harness.logs import configure_process_logging

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Benchmark LLMs across providers at scale and turn results into decisions.")
runs_app = typer.Typer(help="Browse the run archive.", no_args_is_help=True)
sim_app = typer.Typer(help="The wire-compatible provider simulator.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(sim_app, name="sim")
app.add_typer(models_app, name="models")

DEFAULT_RUNS_DIR = Path("runs")

RunsDir = Annotated[Path, typer.Option("--runs-dir", help="archive root")]


def phase_options(**given: str | bool | float | None) -> dict[str, object]:
    """CLI phase flags as `RunSpec.options` (the phases validate them and name the flag)."""
    return {key: value for key, value in given.items() if value is not None}


@app.command("run")
@input_errors_exit_2
def run_command(
    suites: Annotated[list[str] | None, typer.Argument(help="suite names or YAML files")] = None,
    phase: Annotated[list[str] | None, typer.Option("--phase", help="phase(s) to run")] = None,
    models: Annotated[list[str] | None, typer.Option("--models", help="provider/model[@variant],...")] = None,
    limit: Annotated[int | None, typer.Option(help="first N items of each suite")] = None,
    repeat: Annotated[int | None, typer.Option(help="independent repeats per item")] = None,
    run_id: Annotated[str | None, typer.Option("--run-id")] = None,
    resume: Annotated[str | None, typer.Option("--resume", help="complete an interrupted run")] = None,
    runs_dir: RunsDir = DEFAULT_RUNS_DIR,
    address: Annotated[str | None, typer.Option(help="Ray address to join (default: local Ray)")] = None,
    config: Annotated[Path | None, typer.Option(help="fleetbench config YAML")] = None,
    concurrency: Annotated[int | None, typer.Option(help="calls in flight per subagent")] = None,
    workers: Annotated[int | None, typer.Option(help="worker actors per phase")] = None,
    context_models: Annotated[list[str] | None, typer.Option(help="stages: context-summary candidates")] = None,
    retrieval_models: Annotated[list[str] | None, typer.Option(help="stages: retrieval-brief candidates")] = None,
    execution_models: Annotated[list[str] | None, typer.Option(help="stages: execution-plan candidates")] = None,
    context_lengths: Annotated[str | None, typer.Option(
        help="long-context: filler sizes, e.g. 2k,8k,32k or 1500,4096")] = None,
    long_context_items: Annotated[str | None, typer.Option(
        help="long-context: suite item ids to stress (default router-json,nested-json,shell-largest-files,three-bullets)")
    ] = None,
    payload_depths: Annotated[str | None, typer.Option(
        help="long-context: where the prompt sits in the filler, e.g. start,middle,end or 25% (default end)")
    ] = None,
    tool_mode: Annotated[str | None, typer.Option(help="tool-use: native, prompt or auto (per provider)")] = None,
    variants: Annotated[str | None, typer.Option(
        help="tool-use: prompt variants, e.g. baseline,few-shot,xml-tools,step-by-step")] = None,
    calibration_tasks: Annotated[Path | None, typer.Option(
        help="calibration: a tasks YAML instead of suites/calibration.yaml")] = None,
    calibrate: Annotated[bool, typer.Option(
        "--calibrate/--no-calibrate", help="update routing weights and rankings after the run")] = True,
    rate: Annotated[float | None, typer.Option(
        help="open loop: offer this many calls per second per phase (default: closed loop at --concurrency)")
    ] = None,
    arrivals: Annotated[str | None, typer.Option(help="open loop: constant or poisson (default constant)")] = None,
    seed: Annotated[int | None, typer.Option(help="open loop: seed of the Poisson arrivals")] = None,
    rate_sweep: Annotated[str | None, typer.Option(
        help="open-loop sweep: auto (1, 2, 4 ... 1024/s) or rates like 1,2,4,8; stops where the endpoint saturates")
    ] = None,
    sweep_seconds: Annotated[float, typer.Option(help="rate sweep: seconds of calls offered per step")] = 10.0,
    allow_changed_inputs: Annotated[bool, typer.Option(
        "--allow-changed-inputs", help="--resume even if the suite or config changed since the run started")] = False,
) -> None:
    """Plan, run every phase as its own subagent, archive, aggregate and calibrate."""
    if address is None:
        # a local Ray binds to loopback only; must be set before ray is first imported
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    from agents.run_setup import RunSpec
    from cluster.driver import run
    from cluster.report import exit_unless_completed, print_run_result

    if resume and run_id:
        raise InputError("--run-id", "give either --run-id or --resume, not both")
    spec = RunSpec(suites=suites or [], phases=phase or [], models=models or [], limit=limit,
                   repeat=repeat, config_path=config, concurrency=concurrency, workers=workers,
                   stage_models={stage: names for stage, names in (
                       ("context-summary", context_models), ("retrieval-brief", retrieval_models),
                       ("execution-plan", execution_models)) if names},
                   options=phase_options(context_lengths=context_lengths, long_context_items=long_context_items,
                                         payload_depths=payload_depths,
                                         tool_mode=tool_mode, variants=variants, calibrate=calibrate,
                                         # absolute: the phase subagents may run in another directory
                                         calibration_tasks=str(calibration_tasks.resolve())
                                         if calibration_tasks else None,
                                         rate=rate, arrivals=arrivals, seed=seed))
    if rate_sweep is not None:
        from agents.rate_sweep import render_sweep
        from cluster.rate_sweep import parse_rates, run_rate_sweep

        if rate is not None or resume or run_id:
            raise InputError("--rate-sweep", "cannot be combined with --rate, --resume or --run-id")
        steps = run_rate_sweep(spec, parse_rates(rate_sweep), seconds=sweep_seconds, runs_dir=runs_dir,
                               address=address, argv=sys.argv)
        out.print(render_sweep([step for _, step in steps]), highlight=False)
        for result, _ in steps:
            out.print(f"archive: {result.run_dir}")
        exit_unless_completed(steps[-1][0])
        return
    result = run(spec, runs_dir=runs_dir, run_id=run_id, resume=resume, address=address, argv=sys.argv,
                 allow_changed_inputs=allow_changed_inputs)
    print_run_result(out, result)
    exit_unless_completed(result)


@app.command("retry")
@input_errors_exit_2
def retry_command(
    run_id: Annotated[str, typer.Argument(help="the run whose failures to redo")],
    models: Annotated[list[str] | None, typer.Option("--models", help="only these models")] = None,
    errors_only: Annotated[bool, typer.Option(
        "--errors-only", help="redo errors only (the default; kept for scripts that pass it)")] = True,
    include_skipped: Annotated[bool, typer.Option(
        "--include-skipped", help="also redo keys skipped for want of access (a key has been set since)")] = False,
    allow_changed_inputs: Annotated[bool, typer.Option(
        "--allow-changed-inputs", help="retry even if the suite or config changed since the parent ran")] = False,
    runs_dir: RunsDir = DEFAULT_RUNS_DIR,
    address: Annotated[str | None, typer.Option(help="Ray address to join (default: local Ray)")] = None,
) -> None:
    """Re-run what RUN_ID left failed (rate-limited calls, say) as a new run linked to it."""
    if address is None:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    from agents.retry_plan import failed_keys
    from agents.run_setup import RunSpec
    from archive.run_id import validate_run_id
    from archive.store import RunStore
    from cluster.driver import run
    from cluster.report import exit_unless_completed, print_run_result

    parent = RunStore(runs_dir).find(validate_run_id(run_id, "RUN_ID"), "RUN_ID")
    keys = failed_keys(parent.load_records(), include_skipped=include_skipped, models=models or [])
    if not keys:
        out.print(f"nothing to retry: run {parent.run_id} has no failed keys" +
                  (" for those models" if models else ""))
        return
    spec = RunSpec.from_manifest(parent.read_manifest().get("request", {}))
    spec.only_keys = keys
    out.print(f"retrying {len(keys)} keys of {parent.run_id}")
    result = run(spec, runs_dir=runs_dir, address=address, parent_run=parent.run_id, argv=sys.argv,
                 allow_changed_inputs=allow_changed_inputs)
    print_run_result(out, result)
    exit_unless_completed(result)


@app.command("aggregate")
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
    from cluster.report import print_runs_table

    print_runs_table(out, runs_dir)


@runs_app.command("show")
@input_errors_exit_2
def runs_show(run_id: str, runs_dir: RunsDir = DEFAULT_RUNS_DIR) -> None:
    """A run's manifest and per phase x model statistics."""
    from cluster.report import print_run_detail

    print_run_detail(out, runs_dir, run_id)


@sim_app.command("serve")
@input_errors_exit_2
def sim_serve(
    config: Annotated[Path | None, typer.Option(help="simulator config YAML/JSON")] = None,
    host: str = "127.0.0.1",
    port: int = 8765,
) -> None:
    """Serve the simulator on loopback until interrupted (prints SIM_URL=...)."""
    from simulator.__main__ import serve

    try:
        serve(config, host, port)
    except ValueError as exc:
        raise InputError(str(config), str(exc)) from None


# Decision commands (issue 5): each cluster/cli_<name>.py exposes `register(app)`.
from cluster.cli_score import register as register_score

register_score(app)
from cluster.cli_calibrate import register as register_calibrate

register_calibrate(app)
from cluster.cli_select import register as register_select

register_select(app)
from cluster.cli_report import register as register_report

register_report(app)

from cluster.cli_sweep import register as register_sweep

register_sweep(app)


def main() -> None:
    configure_process_logging()
    app()


if __name__ == "__main__":
    main()
