"""`fleetbench` command line (typer + rich): the app, assembled from one module per command.

Why errors are caught in the commands (`cli.common.input_errors_exit_2`): bad input must end
in one clear line naming the file and line or field, exit code 2, no traceback; a completed
run exits 0 even with failed calls. Why nothing here imports Ray or the cluster: `--help` and
bad-input errors answer at once; the commands that run on Ray import it when they run.
"""

from __future__ import annotations

import typer

from cli import archive, calibrate, dashboard, doctor, models, run, score, selection, sim, sweep
from harness.logs import configure_process_logging

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Benchmark LLMs across providers at scale and turn results into decisions.")
for command in (run, archive, sim, models, score, calibrate, selection, dashboard, sweep, doctor):
    command.register(app)


def main() -> None:
    configure_process_logging()
    app()
