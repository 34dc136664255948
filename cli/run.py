"""`fleetbench run` and `fleetbench retry`: the commands that start a run on Ray.

Why Ray is imported only inside the commands: `fleetbench --help` and every bad-input
error must answer without paying for Ray's import (about a second) or starting it.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from cli.common import (
    DEFAULT_RUNS_DIR,
    Address,
    RunsDir,
    Verbose,
    err,
    input_errors_exit_2,
    local_ray_on_loopback,
    out,
    show_third_party_logs,
)
from harness.errors import InputError

if TYPE_CHECKING:
    from agents.run_setup import PreparedRun, RunSpec
    from cluster.run_watch import RunResult


def checked_run(spec: RunSpec, runs_dir: Path, *, run_id: str | None, resume: str | None,
                allow_changed_inputs: bool = False) -> PreparedRun:
    """Every input check a run makes (suites, config, models, phase flags, run IDs, and a
    resumed run's inputs against its manifest), before Ray."""
    from agents.input_check import refuse_changed_inputs
    from agents.run_setup import RunSpec, prepare_run
    from archive.run_id import validate_run_id
    from archive.store import RunStore

    store = RunStore(runs_dir)
    if resume:
        manifest = store.find(validate_run_id(resume, "--resume"), "--resume").read_manifest()
        prepared = prepare_run(RunSpec.from_manifest(manifest.get("request", {})))
        if not allow_changed_inputs:
            refuse_changed_inputs(manifest, prepared, resume)
        return prepared
    if run_id:
        store.check_new(validate_run_id(run_id))
    return prepare_run(spec)


INTERRUPTED_EXIT = 130  # the shell's code for "stopped by SIGINT"
INTERRUPTED_BY_USER = "interrupted by the user"


def resume_command(run_id: str, runs_dir: Path, address: str | None) -> str:
    """The exact command that completes an interrupted run, as the user would type it."""
    parts = ["fleetbench", "run", "--resume", run_id]
    if runs_dir != DEFAULT_RUNS_DIR:
        parts += ["--runs-dir", str(runs_dir)]
    if address:
        parts += ["--address", address]
    return shlex.join(parts)


def start_run(prepared: PreparedRun, *, runs_dir: Path, address: str | None, run_id: str | None = None,
              resume: str | None = None, parent_run: str | None = None) -> RunResult:
    """Run on Ray (imported here, not before) with the terminal's progress display, and
    print the results. Interrupted (Ctrl-C), it says how to resume and exits 130; a run
    that failed or lost its collector says why and how to resume, and exits 1."""
    local_ray_on_loopback(address)
    from archive.run_id import new_run_id
    from cli.progress import RunProgress
    from cli.render import print_run_result
    from cluster.driver import run

    # chosen here, so that a Ctrl-C at any moment can name the run to resume
    run_id = resume or run_id or new_run_id()
    try:
        result = run(prepared.spec, prepared=prepared, runs_dir=runs_dir, run_id=None if resume else run_id,
                     resume=resume, address=address, parent_run=parent_run, argv=sys.argv, progress=RunProgress(),
                     allow_changed_inputs=True)  # checked before Ray, by checked_run or retry_command
    except KeyboardInterrupt:
        _interrupted(run_id, runs_dir, address)
    print_run_result(out, result)
    if result.status == "interrupted" and result.failure in (None, INTERRUPTED_BY_USER):
        _interrupted(run_id, runs_dir, address)
    if result.status != "completed":
        err.print(f"{result.status}: {result.failure or 'the run did not complete'}; resume with "
                  f"`{resume_command(result.run_id, runs_dir, address)}`", highlight=False, soft_wrap=True,
                  markup=False)
        raise typer.Exit(1)
    return result


def _interrupted(run_id: str, runs_dir: Path, address: str | None) -> NoReturn:
    from archive.store import RunStore

    try:
        RunStore(runs_dir).find(run_id)
    except InputError:
        err.print("interrupted before the run was archived: nothing to resume", highlight=False)
    else:
        err.print(f"interrupted: resume with `{resume_command(run_id, runs_dir, address)}`", highlight=False,
                  soft_wrap=True, markup=False)
    raise typer.Exit(INTERRUPTED_EXIT)


def phase_options(**given: str | bool | float | None) -> dict[str, object]:
    """CLI phase flags as `RunSpec.options` (the phases validate them and name the flag)."""
    return {key: value for key, value in given.items() if value is not None}


@input_errors_exit_2
def run_command(
    suites: Annotated[list[str] | None, typer.Argument(help="suite names or YAML files")] = None,
    phase: Annotated[list[str] | None, typer.Option("--phase", help="phase(s) to run")] = None,
    models: Annotated[list[str] | None, typer.Option("--models", help="provider/model[@variant],...")] = None,
    plan: Annotated[str | None, typer.Option(
        help="quick: a few calls per phase (minutes); full: every phase's complete plan "
             "[default: quick with no suite and no --models, else full]")] = None,
    limit: Annotated[int | None, typer.Option(help="first N items of each suite")] = None,
    repeat: Annotated[int | None, typer.Option(help="independent repeats per item")] = None,
    run_id: Annotated[str | None, typer.Option("--run-id")] = None,
    resume: Annotated[str | None, typer.Option("--resume", help="complete an interrupted run")] = None,
    runs_dir: RunsDir = DEFAULT_RUNS_DIR,
    address: Address = None,
    verbose: Verbose = False,
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
    bfcl_sample: Annotated[int | None, typer.Option(
        help="tool-use: BFCL items per category asked beside our own suite (default 1 quick, 2 full; 0: none)")
    ] = None,
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
    show_third_party_logs(verbose)
    from agents.run_setup import RunSpec, default_plan

    if resume and run_id:
        raise InputError("--run-id", "give either --run-id or --resume, not both")
    spec = RunSpec(suites=suites or [], phases=phase or [], models=models or [], limit=limit,
                   plan=plan or default_plan(suites or [], models or []),
                   repeat=repeat, config_path=config, concurrency=concurrency, workers=workers,
                   stage_models={stage: names for stage, names in (
                       ("context-summary", context_models), ("retrieval-brief", retrieval_models),
                       ("execution-plan", execution_models)) if names},
                   options=phase_options(context_lengths=context_lengths, long_context_items=long_context_items,
                                         payload_depths=payload_depths,
                                         tool_mode=tool_mode, variants=variants, bfcl_sample=bfcl_sample,
                                         calibrate=calibrate,
                                         # absolute: the phase subagents may run in another directory
                                         calibration_tasks=str(calibration_tasks.resolve())
                                         if calibration_tasks else None,
                                         rate=rate, arrivals=arrivals, seed=seed))
    prepared = checked_run(spec, runs_dir, run_id=run_id, resume=resume, allow_changed_inputs=allow_changed_inputs)
    if rate_sweep is not None:
        if rate is not None or resume or run_id:
            raise InputError("--rate-sweep", "cannot be combined with --rate, --resume or --run-id")
        run_sweep(spec, rate_sweep, seconds=sweep_seconds, runs_dir=runs_dir, address=address)
        return
    start_run(prepared, runs_dir=runs_dir, run_id=run_id, resume=resume, address=address)


def run_sweep(spec: RunSpec, rates_text: str, *, seconds: float, runs_dir: Path, address: str | None) -> None:
    """One open-loop run per rate, then the sweep's table and where it saturated."""
    from agents.rate_sweep import parse_rates, render_sweep

    rates = parse_rates(rates_text)  # bad input is refused before Ray is imported
    local_ray_on_loopback(address)
    from cli.progress import RunProgress
    from cluster.rate_sweep import run_rate_sweep

    steps = run_rate_sweep(spec, rates, seconds=seconds, runs_dir=runs_dir, address=address, argv=sys.argv,
                           progress=RunProgress())
    out.print(render_sweep([step for _, step in steps]), highlight=False)
    for result, _ in steps:
        out.print(f"archive: {result.run_dir}", highlight=False)
    last = steps[-1][0]
    if last.status != "completed":
        err.print(f"{last.status}: {last.failure}", highlight=False, markup=False)
        raise typer.Exit(1)


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
    address: Address = None,
    verbose: Verbose = False,
) -> None:
    """Re-run what RUN_ID left failed (rate-limited calls, say) as a new run linked to it."""
    show_third_party_logs(verbose)
    from agents.input_check import refuse_changed_inputs
    from agents.retry_plan import failed_keys
    from agents.run_setup import RunSpec, prepare_run
    from archive.run_id import validate_run_id
    from archive.store import RunStore

    parent = RunStore(runs_dir).find(validate_run_id(run_id, "RUN_ID"), "RUN_ID")
    keys = failed_keys(parent.load_records(), include_skipped=include_skipped, models=models or [])
    if not keys:
        out.print(f"nothing to retry: run {parent.run_id} has no failed keys" +
                  (" for those models" if models else ""))
        return
    manifest = parent.read_manifest()
    spec = RunSpec.from_manifest(manifest.get("request", {}))
    spec.only_keys = keys
    prepared = prepare_run(spec)
    if not allow_changed_inputs:
        refuse_changed_inputs(manifest, prepared, parent.run_id)
    out.print(f"retrying {len(keys)} keys of {parent.run_id}")
    start_run(prepared, runs_dir=runs_dir, address=address, parent_run=parent.run_id)


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
    app.command("retry")(retry_command)
