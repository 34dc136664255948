"""The CLI's view of a running benchmark: the driver's `RunProgress`, drawn for a person.

On a terminal: a rich progress bar per phase, with ok/error counts and an ETA. Anywhere else
(a file, a pipe, a CI log): one plain line at most every `interval_s` (10 s) while the counts
move, and less often as the run grows (every sixth of the time elapsed: 30 s after 3 min), a
heartbeat line after a minute of no change, and a final line; so the log of a three-minute
run is a dozen lines and that of a slow half-hour one about thirty, not hundreds. Notes (warnings, models left out for want of
a key, a restarted subagent) print at once, in both modes.

Why stdout is never touched: stdout carries the run's results (tables, sections, the archive
path) and nothing else, so `fleetbench run > results.txt` is the results.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

Counts = dict[str, dict[str, int]]
INTERVAL_S = 10.0
HEARTBEAT_S = 60.0


def duration(seconds: float) -> str:
    """75.2 -> "1m15s"; 9.4 -> "9s"."""
    whole = max(0, round(seconds))
    return f"{whole // 60}m{whole % 60:02d}s" if whole >= 60 else f"{whole}s"


def _phase_part(phase: str, total: int, c: dict[str, int]) -> str:
    done = sum(c.values())
    if total and c.get("skipped", 0) == total:
        return f"{phase} no access"
    errors = f" ({c['error']} error{'s' if c['error'] != 1 else ''})" if c.get("error") else ""
    return f"{phase} {done}/{total}{errors}"


class RunProgress:
    """Progress of one run on `stream` (stderr by default), live on a terminal."""

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None,
                 interval_s: float = INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream or sys.stderr
        self._live = self._stream.isatty() if live is None else live
        self._interval_s = interval_s
        self._clock = clock
        self._totals: dict[str, int] = {}
        self._started = self._last_print = clock()
        self._last_line = ""
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def start(self, totals: dict[str, int]) -> None:
        self._totals = dict(totals)
        self._started = self._last_print = self._clock()
        if not self._live:
            return
        # stdout stays the results' alone: only stray stderr writes are routed above the bars
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"), TextColumn("eta"), TimeRemainingColumn(),
            TimeElapsedColumn(), console=Console(file=self._stream, force_terminal=True),
            redirect_stdout=False, redirect_stderr=True)
        width = max((len(p) for p in totals), default=0)
        for phase, total in totals.items():
            self._tasks[phase] = self._progress.add_task(phase.ljust(width), total=total, detail="")
        self._progress.start()

    def update(self, counts: Counts) -> None:
        if self._progress is not None:
            for phase, task in self._tasks.items():
                c = counts.get(phase, {})
                skipped = f" skipped {c['skipped']}" if c.get("skipped") else ""
                self._progress.update(task, completed=sum(c.values()),
                                      detail=f"ok {c.get('ok', 0)} err {c.get('error', 0)}{skipped}")
            return
        now = self._clock()
        moved = self._phases(counts) != self._last_line
        finished = sum(sum(c.values()) for c in counts.values()) >= sum(self._totals.values())
        interval = max(self._interval_s, (now - self._started) / 6) if moved else HEARTBEAT_S
        if not finished and now - self._last_print >= interval:
            self._print(self.line(counts, now))
            self._last_line, self._last_print = self._phases(counts), now

    def _phases(self, counts: Counts) -> str:
        return ", ".join(_phase_part(p, n, counts.get(p, {})) for p, n in self._totals.items())

    def line(self, counts: Counts, now: float, *, final: bool = False) -> str:
        """One plain progress line: overall counts, elapsed, an ETA (not in the final line),
        then each phase."""
        elapsed = now - self._started
        total = sum(self._totals.values())
        sums = {k: sum(c.get(k, 0) for c in counts.values()) for k in ("ok", "error", "skipped")}
        done = sum(sums.values())
        called = sums["ok"] + sums["error"]
        left = total - done
        eta = f", eta {duration(elapsed * left / called)}" if called and left > 0 and not final else ""
        skipped = f", skipped {sums['skipped']}" if sums["skipped"] else ""
        return (f"{'done' if final else 'progress'} [{duration(elapsed)}] {done}/{total} (ok {sums['ok']}, "
                f"error {sums['error']}{skipped}){eta}: {self._phases(counts)}")

    def note(self, message: str) -> None:
        if self._progress is not None:
            self._progress.console.print(message, highlight=False, markup=False)
        else:
            self._print(message)

    def close(self, counts: Counts) -> None:
        if self._progress is not None:
            self.update(counts)
            self._progress.stop()
            self._progress = None
            return
        self._print(self.line(counts, self._clock(), final=True))

    def _print(self, text: str) -> None:
        print(text, file=self._stream, flush=True)
