"""`fleetbench report`: the offline HTML dashboard plus JSON/CSV exports of a runs directory.

Why a `register(app)` hook: each decision command lives in its own module so the main CLI
file stays a list of commands; the dashboard package is imported only when the command runs,
keeping `fleetbench --help` fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cli.common import DEFAULT_RUNS_DIR, RunsDir, input_errors_exit_2, out
from harness.errors import InputError


def report_command(
    runs_dir: RunsDir = DEFAULT_RUNS_DIR,
    out_file: Annotated[Path | None, typer.Option("--out", help="dashboard HTML file "
                                                  "(default <runs-dir>/dashboard.html)")] = None,
) -> None:
    """Write a self-contained HTML dashboard (works offline) and JSON/CSV exports."""
    from dashboard.report import build_report

    if out_file is not None and out_file.is_dir():
        raise InputError("--out", f"{out_file} is a directory; give a file name such as dashboard.html")
    result = build_report(runs_dir, out_file)
    out.print(f"dashboard: {escape(str(result.html_path))}", highlight=False)
    export_dir = result.exports[0].parent if result.exports else runs_dir / "exports"
    out.print(f"exports: {escape(str(export_dir))} ({len(result.exports)} files: dashboard.json and "
              f"{len(result.exports) - 1} CSV tables)", highlight=False)
    for title, line in result.summaries:
        out.print(f"  {escape(title)}: {escape(line)}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("report")(input_errors_exit_2(report_command))
