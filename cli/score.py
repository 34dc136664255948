"""`fleetbench score RUN_ID [--manual]`: the 100-point rubric on a run's answers.

Why a separate file next to results.jsonl: the collector is the only writer of records, so
re-scoring never edits them; the automatic scores go to `<run>/rubric_scores.json` and a
human's to `<run>/manual_scores.jsonl`, which the calibration step reads and ranks first.
Heavy imports stay inside the command: `fleetbench --help` must stay fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import input_errors_exit_2, out

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from archive.store import RunDir
    from calibration.tasks import CalibrationTask
    from harness.records import CallRecord

RUBRIC_SCORES_JSON = "rubric_scores.json"


def _manifest(run: RunDir) -> dict[str, Any]:
    """The run's manifest, or {} when it is missing or unreadable: scoring needs only records."""
    from harness.errors import InputError

    try:
        return run.read_manifest()
    except InputError:
        return {}


def _tasks_path(given: Path | None, manifest: Mapping[str, Any]) -> Path | None:
    """--tasks, else the tasks file the run itself used (its `calibration_tasks` option)."""
    if given is not None:
        return given
    request = manifest.get("request")
    options = request.get("options") if isinstance(request, dict) else None
    used = options.get("calibration_tasks") if isinstance(options, dict) else None
    return Path(str(used)) if used else None


def _suite_prompts(manifest: Mapping[str, Any]) -> dict[str, str]:
    """item_id -> prompt from the suites the run used, where they can still be read."""
    from agents.suite import load_suite
    from harness.errors import InputError

    prompts: dict[str, str] = {}
    for entry in manifest.get("suites") or []:
        path = entry.get("path") if isinstance(entry, dict) else None
        if not path:
            continue
        try:
            loaded = load_suite(str(path))
        except InputError:
            out.print(f"note: suite {path} is no longer readable; its prompts are not shown", markup=False)
            continue
        prompts.update({item.id: item.prompt for item in loaded.suite.items})
    return prompts


def auto_rows(records: Sequence[CallRecord], tasks: Mapping[str, CalibrationTask],
              weights: Mapping[str, int]) -> list[dict[str, Any]]:
    """Every ok answer in key order, scored against its calibration task (by item_id) or,
    when it is none, without expected elements. The model lab's judge records rate other
    answers, not their own model, so they are left out."""
    from calibration.rubric import auto_score
    from calibration.scores import UNSCORED_PHASES

    rows: list[dict[str, Any]] = []
    for r in sorted(records, key=lambda r: r.key):
        if r.status != "ok" or r.phase in UNSCORED_PHASES:
            continue
        task = tasks.get(r.item_id)
        score = auto_score(r.output, task, weights)
        rows.append({"key": list(r.key), "phase": r.phase, "item_id": r.item_id, "model": r.model,
                     "category": r.category, "calibration_task": task is not None, "language": score.language,
                     **score.as_extra()})
    return rows


def _score_auto(run: RunDir, records: Sequence[CallRecord], tasks: Mapping[str, CalibrationTask],
                weights: Mapping[str, int]) -> None:
    import json
    from datetime import UTC, datetime

    from rich.table import Table

    from archive.store import atomic_write_text
    from calibration.manual import label

    rows = auto_rows(records, tasks, weights)
    document = {"run_id": run.run_id, "scored_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "weights": dict(weights), "records": rows}
    target = run.path / RUBRIC_SCORES_JSON
    atomic_write_text(target, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    table = Table(title=f"rubric (automatic) for {run.run_id}")
    for col in ("model", "item", *(f"{label(c)} /{p}" for c, p in weights.items()), "total", "band"):
        table.add_column(col, overflow="fold")
    for row in rows:
        scores: dict[str, int] = row["scores"]
        item = row["item_id"] if row["calibration_task"] else f"{row['item_id']} (no task)"
        table.add_row(row["model"], item, *(str(scores[c]) for c in weights), f"{row['total']:.1f}", row["band"])
    out.print(table)
    with_task = sum(1 for row in rows if row["calibration_task"])
    out.print(f"{len(rows)} answers scored ({with_task} against a calibration task, {len(rows) - with_task} "
              f"without expected elements; {len(records) - len(rows)} records not ok or not answers); "
              f"wrote {target}", markup=False, highlight=False)


def _score_manual(run: RunDir, records: Sequence[CallRecord], tasks: Mapping[str, CalibrationTask],
                  weights: Mapping[str, int], manifest: Mapping[str, Any], max_output_chars: int | None) -> None:
    from rich.table import Table

    from calibration.manual import ManualSession
    from calibration.manual_store import MANUAL_SCORES_JSONL
    from calibration.rubric import band

    prompts = _suite_prompts(manifest) | {task_id: task.prompt for task_id, task in tasks.items()}

    def show(text: str) -> None:
        out.print(text, markup=False, highlight=False)  # model output is data, never rich markup

    session = ManualSession(run.path, records, weights, ask=input, show=show, prompts=prompts,
                            max_output_chars=max_output_chars)
    result = session.run()
    table = Table(title=f"rubric (manual) for {run.run_id}")
    for col in ("model", "item", "total", "band"):
        table.add_column(col, overflow="fold")
    for key in result.order:
        if key in result.totals:
            table.add_row(key[2], key[1] + (f" [{key[3]}]" if key[3] else ""), f"{result.totals[key]:.1f}",
                          band(result.totals[key]))
    if result.totals:
        out.print(table)
    state = f"{result.unanswered} question(s) still open" if result.stopped else "all answers scored"
    out.print(f"{len(result.totals)} of {len(result.order)} ok answers fully scored by hand ({state}); "
              f"scores in {run.path / MANUAL_SCORES_JSONL}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("score")
    @input_errors_exit_2
    def score_command(
        run_id: Annotated[str, typer.Argument(help="the run whose answers to score")],
        manual: Annotated[bool, typer.Option("--manual", help="score by hand, one prompt per criterion")] = False,
        runs_dir: Annotated[Path, typer.Option("--runs-dir", help="archive root")] = Path("runs"),
        config: Annotated[Path | None, typer.Option("--config", help="fleetbench config YAML (rubric weights)")]
        = None,
        tasks: Annotated[Path | None, typer.Option("--tasks", help="calibration tasks YAML "
                                                   "(default: the run's own, else the packaged one)")] = None,
        max_output_chars: Annotated[int | None, typer.Option("--max-output-chars", min=1,
                                                             help="--manual: cut long answers")] = None,
    ) -> None:
        """Score a run's answers on the 100-point rubric: automatically (rubric_scores.json)
        or by hand with --manual (resumable: stop with Ctrl-D, run again to continue)."""
        from agents.config import load_config
        from archive.store import RunStore
        from calibration.tasks import load_calibration_tasks

        weights = load_config(config).calibration.rubric.weights
        run = RunStore(runs_dir).find(run_id, "RUN_ID")
        manifest = _manifest(run)
        by_id = {t.id: t for t in load_calibration_tasks(_tasks_path(tasks, manifest))}
        records = run.load_records()
        if manual:
            _score_manual(run, records, by_id, weights, manifest, max_output_chars)
        else:
            _score_auto(run, records, by_id, weights)
