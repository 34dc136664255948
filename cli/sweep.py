"""`fleetbench sweep` (the model lab) and `fleetbench judges compare`.

A sweep is two runs: run 1 asks the generation models the judge dataset's questions;
run 2 runs `judge-bench` (the benchmark judges rate run 1's answers) and
`judge-production` (the production judges rate the dataset's labelled answers) as two
parallel subagents. Then `<run 2>/judge_comparison.json` holds every (generation, judge,
production judge) combination with its metrics, the dataset hash and the flags.

Why two runs, not one: the judges must rate answers that already exist, and each run
keeps the archive's guarantees (exactly-once records, `--resume`, `retry`). Why the flags
travel with the file: comparisons are only fair on the same dataset and the
same flags, so `judges compare` refuses, naming the field, rather than letting a reader
compare a `direct` judge with a `reasoned` one.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from calibration.schema import JUDGE_COMPARISON_JSON, JudgeComparison
from cli.common import (
    DEFAULT_RUNS_DIR,
    Address,
    RunsDir,
    Verbose,
    input_errors_exit_2,
    local_ray_on_loopback,
    out,
    show_third_party_logs,
)
from harness.errors import InputError

Flags = dict[str, str | int | float | bool | None]


def _table(title: str, columns: tuple[str, ...], left: int) -> Table:
    """A table whose first `left` columns are names (left-aligned) and the rest numbers."""
    table = Table(title=title)
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index < left else "right")
    return table


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


@dataclass
class SweepPlan:
    """Everything checked before Ray, the simulator or the archive are touched."""

    generation_models: list[str]
    judge_models: list[str]
    production_judge_models: list[str]
    dataset_path: Path
    dataset_hash: str
    flags: Flags
    limit: int | None
    config_path: Path | None
    notes: list[str] = field(default_factory=list)

    def options(self) -> dict[str, Any]:
        return {"judge_dataset": str(self.dataset_path), "judge_eval_mode": self.flags["judge_eval_mode"],
                "consistency_runs": self.flags["consistency_runs"]}

    def generation_spec(self) -> Any:
        from agents.run_setup import RunSpec

        return RunSpec(phases=["generation"], models=self.generation_models, limit=self.limit, repeat=1,
                       config_path=self.config_path, options=self.options())

    def judge_spec(self, source_results: Path | None) -> Any:
        """judge-bench only when run 1 left answers to rate; judge-production always."""
        from agents.run_setup import RunSpec

        phases = (["judge-bench"] if source_results else []) + ["judge-production"]
        models = list(dict.fromkeys((self.judge_models if source_results else []) + self.production_judge_models))
        options = {**self.options(), "judge_models": self.judge_models,
                   "production_judge_models": self.production_judge_models}
        if source_results:
            options["source_run_results"] = str(source_results)
        return RunSpec(phases=phases, models=models, limit=self.limit, config_path=self.config_path, options=options)


def _models(text: str | None, flag: str, known: set[str], catalogue: Any) -> list[str]:
    from agents.run_setup import canonical_models
    from harness.model_ref import ModelRef

    refs = list(dict.fromkeys(ModelRef.parse(part, flag) for part in (text or "").split(",") if part.strip()))
    if not refs:
        raise InputError(flag, "names no model (give a comma-separated list of provider/model)")
    for ref in refs:
        if ref.provider not in known:
            raise InputError(flag, f"unknown provider {ref.provider!r} in {ref} (known: {', '.join(sorted(known))})")
    return [str(m) for m in canonical_models(refs, catalogue)[0]]


def plan_sweep(*, generation_models: str | None, judge_models: str | None, production_judge_models: str | None,
               limit: int | None, judge_eval_mode: str | None, consistency_runs: int | None,
               dataset: Path | None, config_path: Path | None) -> SweepPlan:
    from agents.config import load_config
    from agents.providers import known_provider_names
    from agents.run_setup import CATALOGUE_PATH
    from calibration.judge_dataset import load_judge_dataset
    from calibration.judge_prompt import check_mode, prompt_version
    from harness.catalogue import load_catalogue
    from harness.keys import load_env_files

    load_env_files()
    config = load_config(config_path)
    known, catalogue = known_provider_names(config), load_catalogue(CATALOGUE_PATH)
    gen = _models(generation_models, "--generation-models", known, catalogue)
    judges = _models(judge_models, "--judge-models", known, catalogue)
    prod = _models(production_judge_models, "--production-judge-models", known, catalogue)
    if limit is not None and limit < 1:
        raise InputError("--limit", "must be at least 1")
    runs = consistency_runs if consistency_runs is not None else config.calibration.judge.consistency_runs
    if runs < 1:
        raise InputError("--consistency-runs", "must be at least 1")
    try:
        mode = check_mode(judge_eval_mode if judge_eval_mode is not None else config.calibration.judge.mode)
    except ValueError as exc:
        raise InputError("--judge-eval-mode", str(exc)) from None
    loaded = load_judge_dataset(dataset)
    flags: Flags = {"judge_eval_mode": mode, "consistency_runs": runs, "limit": limit,
                    "judge_max_tokens": config.calibration.judge.max_tokens, "judge_temperature": 0.0,
                    "judge_prompt_version": prompt_version(), "generation_repeat": 1}
    return SweepPlan(generation_models=gen, judge_models=judges, production_judge_models=prod,
                     dataset_path=loaded.path, dataset_hash=loaded.dataset_hash, flags=flags, limit=limit,
                     config_path=config_path)


def write_comparison(run_dir: Path, comparison: JudgeComparison, notes: list[str]) -> Path:
    """Atomic, so a reader never sees half a file. `notes` (what was left out and why) ride
    beside the schema's fields; readers decoding `JudgeComparison` ignore them."""
    from archive.store import atomic_write_bytes

    payload = {**msgspec.to_builtins(comparison), "notes": notes}
    path = run_dir / JUDGE_COMPARISON_JSON
    atomic_write_bytes(path, msgspec.json.format(msgspec.json.encode(payload), indent=2) + b"\n")
    return path


def print_comparison(console: Console, comparison: JudgeComparison, notes: list[str]) -> None:
    bench = _table(f"benchmark judges (mode {comparison.flags.get('judge_eval_mode')}, "
                   f"{comparison.flags.get('consistency_runs')} runs)",
                   ("judge", "answers rated", "consistency", "error rate", "mean latency ms"), 1)
    for b in comparison.bench_judges:
        bench.add_row(escape(b.judge), str(b.n_items), _pct(b.consistency), _pct(b.error_rate), _ms(b.mean_latency_ms))
    prod = _table("production judges (positive = bad; errors excluded from the matrix)",
                  ("judge", "calls", "errors", "accuracy", "precision", "recall", "F1", "avg latency ms",
                   "TP/FP/TN/FN"), 1)
    for p in comparison.production_judges:
        prod.add_row(escape(p.judge), str(p.n), str(p.errors), _pct(p.accuracy), _pct(p.precision), _pct(p.recall),
                     _pct(p.f1), _ms(p.avg_latency_ms), f"{p.tp}/{p.fp}/{p.tn}/{p.fn}")
    runs = _table("model runs (generation x judge x production judge)",
                  ("generation", "judge", "production judge", "gen score", "judge consistency", "judge errors",
                   "prod F1", "prod accuracy", "prod errors"), 3)
    for r in comparison.model_runs:
        m = r.metrics
        score = m.get("generation_mean_judge_score")
        runs.add_row(escape(r.generation_model), escape(r.judge_model), escape(r.production_judge_model),
                     "-" if score is None else f"{score:.1f}", _pct(m.get("judge_consistency")),
                     _pct(m.get("judge_error_rate")), _pct(m.get("production_f1")), _pct(m.get("production_accuracy")),
                     _pct(m.get("production_error_rate")))
    for table in (bench, prod, runs):
        console.print(table)
    for note in notes:
        console.print(f"note: {escape(note)}")


def load_comparison(ref: str, runs_dir: Path, where: str) -> JudgeComparison:
    """A run id (looked up under runs_dir), a run directory, or the JSON file itself."""
    from archive.store import RunStore

    given = Path(ref).expanduser()
    if given.is_file():
        path = given
    elif given.is_dir():
        path = given / JUDGE_COMPARISON_JSON
    else:
        path = RunStore(runs_dir).find(ref, where).path / JUDGE_COMPARISON_JSON
    try:
        return msgspec.json.decode(path.read_bytes(), type=JudgeComparison)
    except FileNotFoundError:
        raise InputError(str(path), f"{where}: no {JUDGE_COMPARISON_JSON} (is it a sweep's judge run?)") from None
    except (OSError, msgspec.DecodeError) as exc:
        raise InputError(str(path), f"{where}: not a judge comparison: {exc}") from None


def print_side_by_side(console: Console, a: JudgeComparison, b: JudgeComparison) -> None:
    bench = _table(f"benchmark judges: {a.run_id} vs {b.run_id}",
                   ("judge", "consistency A", "consistency B", "error rate A", "error rate B", "latency A",
                    "latency B"), 1)
    rows_a, rows_b = {r.judge: r for r in a.bench_judges}, {r.judge: r for r in b.bench_judges}
    for judge in sorted(set(rows_a) | set(rows_b)):
        x, y = rows_a.get(judge), rows_b.get(judge)
        bench.add_row(escape(judge), _pct(x.consistency if x else None), _pct(y.consistency if y else None),
                      _pct(x.error_rate if x else None), _pct(y.error_rate if y else None),
                      _ms(x.mean_latency_ms if x else None), _ms(y.mean_latency_ms if y else None))
    prod = _table(f"production judges: {a.run_id} vs {b.run_id}",
                  ("judge", "accuracy A", "accuracy B", "F1 A", "F1 B", "errors A", "errors B", "latency A",
                   "latency B"), 1)
    prods_a, prods_b = {r.judge: r for r in a.production_judges}, {r.judge: r for r in b.production_judges}
    for judge in sorted(set(prods_a) | set(prods_b)):
        p, q = prods_a.get(judge), prods_b.get(judge)
        prod.add_row(escape(judge), _pct(p.accuracy if p else None), _pct(q.accuracy if q else None),
                     _pct(p.f1 if p else None), _pct(q.f1 if q else None), str(p.errors) if p else "-",
                     str(q.errors) if q else "-", _ms(p.avg_latency_ms if p else None),
                     _ms(q.avg_latency_ms if q else None))
    console.print(bench)
    console.print(prod)


@input_errors_exit_2
def sweep_command(
    generation_models: Annotated[str | None, typer.Option(help="generation models, comma-separated")] = None,
    judge_models: Annotated[str | None, typer.Option(help="benchmark judge models, comma-separated")] = None,
    production_judge_models: Annotated[str | None, typer.Option(
        help="production judge models, comma-separated")] = None,
    limit: Annotated[int | None, typer.Option(help="first N dataset items")] = None,
    judge_eval_mode: Annotated[str | None, typer.Option(help="direct or reasoned (default: config)")] = None,
    consistency_runs: Annotated[int | None, typer.Option(help="repeated calls per judged answer")] = None,
    dataset: Annotated[Path | None, typer.Option(help="labelled judge dataset YAML")] = None,
    runs_dir: RunsDir = DEFAULT_RUNS_DIR,
    config: Annotated[Path | None, typer.Option(help="fleetbench config YAML")] = None,
    address: Address = None,
    verbose: Verbose = False,
) -> None:
    """Generation x judge x production-judge sweep: two runs and a judge_comparison.json."""
    show_third_party_logs(verbose)
    local_ray_on_loopback(address)
    plan = plan_sweep(generation_models=generation_models, judge_models=judge_models,
                      production_judge_models=production_judge_models, limit=limit,
                      judge_eval_mode=judge_eval_mode, consistency_runs=consistency_runs, dataset=dataset,
                      config_path=config)
    import ray

    from archive.store import RunDir
    from calibration.judge_metrics import build_comparison
    from cli.progress import RunProgress
    from cluster.driver import run
    from cluster.ray_runtime import ensure_ray

    started = ensure_ray(address)  # one Ray for both runs (ray.init costs ~2 s)
    try:
        first = run(plan.generation_spec(), runs_dir=runs_dir, address=address, argv=sys.argv,
                    progress=RunProgress())
        out.print(f"generation run {first.run_id}: {first.status}")
        generation = RunDir(first.run_dir, first.run_id).load_records()
        answered = any(r.status == "ok" for r in generation)
        if not answered:
            plan.notes.append(f"judge-bench not run: generation run {first.run_id} has no successful answers")
        second = run(plan.judge_spec(first.run_dir / "results.jsonl" if answered else None), runs_dir=runs_dir,
                     address=address, argv=sys.argv, progress=RunProgress())
        out.print(f"judge run {second.run_id}: {second.status}")
    finally:
        if started:
            ray.shutdown()
    comparison, notes = build_comparison(
        run_id=second.run_id, dataset=str(plan.dataset_path), dataset_hash=plan.dataset_hash,
        flags=plan.flags, generation=generation,
        judged=RunDir(second.run_dir, second.run_id).load_records())
    notes = plan.notes + notes + [f"generation run: {first.run_id}; judge run: {second.run_id}"]
    path = write_comparison(second.run_dir, comparison, notes)
    print_comparison(out, comparison, notes)
    out.print(f"judge comparison: {path}")


@input_errors_exit_2
def compare_command(
    run_a: Annotated[str, typer.Argument(help="a sweep's judge run id, run directory or judge_comparison.json")],
    run_b: Annotated[str, typer.Argument(help="the other one")],
    runs_dir: RunsDir = DEFAULT_RUNS_DIR,
) -> None:
    """Side-by-side judge metrics of two sweeps; refused (exit 2) unless the dataset hash and
    every flag agree."""
    a, b = load_comparison(run_a, runs_dir, "RUN_A"), load_comparison(run_b, runs_dir, "RUN_B")
    from calibration.judge_metrics import incomparable_reasons

    reasons = incomparable_reasons(a, b)
    if reasons:
        raise InputError("RUN_B", f"not comparable with RUN_A: {'; '.join(reasons)}")
    print_side_by_side(out, a, b)


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep_command)
    judges_app = typer.Typer(help="Judge comparisons written by `fleetbench sweep`.", no_args_is_help=True)
    judges_app.command("compare")(compare_command)
    app.add_typer(judges_app, name="judges")
