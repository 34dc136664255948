"""How late the event loop wakes up: the client's own saturation, measured.

Why: every timestamp this client takes is only as good as its event loop's promptness. A
loop that wakes 30 ms late adds up to 30 ms to a TTFT that the server never caused, which
is how load testers mistake their own saturation for a slow server. A watcher asks to
wake every `period_s` and records how late it was; the run reports the p95 and the worst,
and calls itself client-bound when they pass a stated bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from harness.timing import percentile

RESERVOIR = 4096


class LoopWatch:
    """Samples event-loop lag (ms) into a bounded ring while running."""

    def __init__(self, period_s: float = 0.02) -> None:
        self.period_s = period_s
        self._lags: list[float] = []
        self._next = 0
        self.samples = 0
        self.worst_ms = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="loop-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _watch(self) -> None:
        while True:
            due = time.perf_counter() + self.period_s
            await asyncio.sleep(self.period_s)
            lag = max(0.0, (time.perf_counter() - due) * 1e3)
            self.samples += 1
            self.worst_ms = max(self.worst_ms, lag)
            if len(self._lags) < RESERVOIR:
                self._lags.append(lag)
            else:  # a ring of the latest samples: bounded memory for runs of any length
                self._lags[self._next] = lag
                self._next = (self._next + 1) % RESERVOIR

    def p95_ms(self) -> float | None:
        return percentile(self._lags, 95)
