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
    from cluster.driver import RunResult


def checked_run(spec: RunSpec, runs_dir: Path, *, run_id: str | None, resume: str | None) -> PreparedRun:
    """Every input check a run makes (suites, config, models, phase flags, run IDs), before Ray."""
    from agents.run_setup import RunSpec, prepare_run
    from archive.run_id import validate_run_id
    from archive.store import RunStore

    store = RunStore(runs_dir)
    if resume:
        spec = RunSpec.from_manifest(store.find(validate_run_id(resume, "--resume"), "--resume").read_manifest().get("request", {}))
    elif run_id:
        store.check_new(validate_run_id(run_id))
    return prepare_run(spec)


INTERRUPTED_EXIT = 130  # the shell's code for "stopped by SIGINT"


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
    print the results. Interrupted (Ctrl-C), it says how to resume and exits 130."""
    local_ray_on_loopback(address)
    from archive.run_id import new_run_id
    from cli.progress import RunProgress
    from cli.render import print_run_result
    from cluster.driver import run

    # chosen here, so that a Ctrl-C at any moment can name the run to resume
    run_id = resume or run_id or new_run_id()
    try:
        result = run(prepared.spec, prepared=prepared, runs_dir=runs_dir, run_id=None if resume else run_id,
                     resume=resume, address=address, parent_run=parent_run, argv=sys.argv, progress=RunProgress())
    except KeyboardInterrupt:
        _interrupted(run_id, runs_dir, address)
    print_run_result(out, result)
    if result.status == "interrupted":
        _interrupted(run_id, runs_dir, address)
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


def phase_options(**given: str | bool | None) -> dict[str, object]:
    """CLI phase flags as `RunSpec.options` (the phases validate them and name the flag)."""
    return {key: value for key, value in given.items() if value is not None}


@input_errors_exit_2
def run_command(
    suites: Annotated[list[str] | None, typer.Argument(help="suite names or YAML files")] = None,
    phase: Annotated[list[str] | None, typer.Option("--phase", help="phase(s) to run")] = None,
    models: Annotated[list[str] | None, typer.Option("--models", help="provider/model[@variant],...")] = None,
    plan: Annotated[str, typer.Option(
        help="quick: a few calls per phase (minutes); full: every phase's complete plan")] = "quick",
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
    calibration_tasks: Annotated[Path | None, typer.Option(
        help="calibration: a tasks YAML instead of suites/calibration.yaml")] = None,
    calibrate: Annotated[bool, typer.Option(
        "--calibrate/--no-calibrate", help="update routing weights and rankings after the run")] = True,
) -> None:
    """Plan, run every phase as its own subagent, archive, aggregate and calibrate."""
    show_third_party_logs(verbose)
    from agents.run_setup import RunSpec

    if resume and run_id:
        raise InputError("--run-id", "give either --run-id or --resume, not both")
    spec = RunSpec(suites=suites or [], phases=phase or [], models=models or [], limit=limit, plan=plan,
                   repeat=repeat, config_path=config, concurrency=concurrency, workers=workers,
                   stage_models={stage: names for stage, names in (
                       ("context-summary", context_models), ("retrieval-brief", retrieval_models),
                       ("execution-plan", execution_models)) if names},
                   options=phase_options(context_lengths=context_lengths, long_context_items=long_context_items,
                                         payload_depths=payload_depths,
                                         tool_mode=tool_mode, variants=variants, calibrate=calibrate,
                                         # absolute: the phase subagents may run in another directory
                                         calibration_tasks=str(calibration_tasks.resolve())
                                         if calibration_tasks else None))
    prepared = checked_run(spec, runs_dir, run_id=run_id, resume=resume)
    start_run(prepared, runs_dir=runs_dir, run_id=run_id, resume=resume, address=address)


@input_errors_exit_2
def retry_command(
    run_id: Annotated[str, typer.Argument(help="the run whose failures to redo")],
    models: Annotated[list[str] | None, typer.Option("--models", help="only these models")] = None,
    errors_only: Annotated[bool, typer.Option("--errors-only", help="redo errors, not skipped keys")] = False,
    runs_dir: RunsDir = DEFAULT_RUNS_DIR,
    address: Address = None,
    verbose: Verbose = False,
) -> None:
    """Re-run what RUN_ID left failed (rate-limited calls, say) as a new run linked to it."""
    show_third_party_logs(verbose)
    from agents.retry_plan import failed_keys
    from agents.run_setup import RunSpec, prepare_run
    from archive.run_id import validate_run_id
    from archive.store import RunStore

    parent = RunStore(runs_dir).find(validate_run_id(run_id, "RUN_ID"), "RUN_ID")
    keys = failed_keys(parent.load_records(), errors_only=errors_only, models=models or [])
    if not keys:
        out.print(f"nothing to retry: run {parent.run_id} has no failed keys" +
                  (" for those models" if models else ""))
        return
    spec = RunSpec.from_manifest(parent.read_manifest().get("request", {}))
    spec.only_keys = keys
    out.print(f"retrying {len(keys)} keys of {parent.run_id}")
    start_run(prepare_run(spec), runs_dir=runs_dir, address=address, parent_run=parent.run_id)


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
    app.command("retry")(retry_command)
