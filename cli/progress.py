"""Live progress on a terminal, plain lines otherwise (CI logs, pipes): the CLI's
`cluster.driver.RunProgress`."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class RunProgress:
    """Shows done/total per phase with ok/error counts."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._totals: dict[str, int] = {}
        self._live = self._stream.isatty()
        self._last_line = ""
        self._last_print = 0.0
        self._progress: Progress | None = None
        self._tasks: dict[str, object] = {}

    def start(self, totals: dict[str, int]) -> None:
        self._totals = totals
        if self._live:
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                                      console=Console(file=self._stream))
            for phase, total in totals.items():
                self._tasks[phase] = self._progress.add_task(phase, total=total, detail="")
            self._progress.start()

    def update(self, counts: dict[str, dict[str, int]]) -> None:
        if self._progress is not None:
            for phase, task in self._tasks.items():
                c = counts.get(phase, {})
                done = sum(c.values())
                self._progress.update(task, completed=done,  # type: ignore[arg-type]
                                      detail=f"ok {c.get('ok', 0)} err {c.get('error', 0)}")
            return
        parts = []
        for phase, total in self._totals.items():
            c = counts.get(phase, {})
            skipped = f", skipped {c['skipped']}" if c.get("skipped") else ""
            parts.append(f"{phase} {sum(c.values())}/{total} (ok {c.get('ok', 0)}, error {c.get('error', 0)}{skipped})")
        line = "progress: " + "; ".join(parts)
        now = time.monotonic()
        if line != self._last_line and now - self._last_print >= 2.0:
            print(line, file=self._stream, flush=True)
            self._last_line, self._last_print = line, now

    def note(self, message: str) -> None:
        if self._progress is not None:
            self._progress.console.print(message)
        else:
            print(message, file=self._stream, flush=True)

    def close(self, counts: dict[str, dict[str, int]]) -> None:
        self._last_print = 0.0
        self.update(counts)
        if self._progress is not None:
            self._progress.stop()
