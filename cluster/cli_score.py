"""`fleetbench score RUN_ID [--manual]`: the 100-point rubric on a run's answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cluster.cli_common import input_errors_exit_2, out


def register(app: typer.Typer) -> None:
    @app.command("score")
    @input_errors_exit_2
    def score_command(
        run_id: Annotated[str, typer.Argument(help="the run whose answers to score")],
        manual: Annotated[bool, typer.Option("--manual", help="score by hand, one prompt per criterion")] = False,
        runs_dir: Annotated[Path, typer.Option("--runs-dir", help="archive root")] = Path("runs"),
        config: Annotated[Path | None, typer.Option(help="fleetbench config YAML")] = None,
        tasks: Annotated[Path | None, typer.Option(help="calibration tasks YAML")] = None,
    ) -> None:
        """Auto-score the run's calibration answers (rubric_scores.json), or score by hand."""
        from agents.config import load_config
        from archive.run_id import validate_run_id
        from archive.store import RunStore, atomic_write_text
        from calibration.manual import ManualSession
        from calibration.rubric import auto_score, band
        from calibration.tasks import load_calibration_tasks

        weights = load_config(config).calibration.rubric.weights
        run = RunStore(runs_dir).find(validate_run_id(run_id, "RUN_ID"), "RUN_ID")
        records = run.load_records()
        if manual:
            totals = ManualSession(run.path, records, weights, ask=input, show=out.print).run()
            out.print(f"{len(totals)} answers fully scored by hand in {run.path / 'manual_scores.jsonl'}")
            return
        by_id = {t.id: t for t in load_calibration_tasks(tasks)}
        table = Table(title=f"rubric (automatic) for {run.run_id}")
        for col in ("model", "task", *weights, "total", "band"):
            table.add_column(col)
        rows = []
        for r in sorted((r for r in records if r.status == "ok" and r.item_id in by_id), key=lambda r: r.key):
            score = auto_score(r.output, by_id[r.item_id], weights)
            rows.append({"key": list(r.key), "model": r.model, **score.as_extra()})
            table.add_row(r.model, r.item_id, *(str(score.scores[c]) for c in weights), f"{score.total:.1f}",
                          band(score.total))
        atomic_write_text(run.path / "rubric_scores.json", json.dumps(rows, indent=2) + "\n")
        out.print(table)
        out.print(f"{len(rows)} answers scored ({len(records) - len(rows)} not calibration tasks or not ok); "
                  f"wrote {run.path / 'rubric_scores.json'}")
