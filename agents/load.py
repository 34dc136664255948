"""How calls are offered: a closed loop (N in flight) or an open loop (arrivals at a rate).

Why both: a closed loop answers "how fast can it go with N at once", but it hides client
queueing, since a slow server simply slows the sender down (coordinated omission). An
open loop sends on a schedule, constant or Poisson (seeded, so a run can be repeated),
and every call records how late its send was against the schedule; latency measured from
the scheduled time then shows the queueing a real user would have felt.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Literal

import msgspec

Arrivals = Literal["constant", "poisson"]


class LoadShape(msgspec.Struct, frozen=True, kw_only=True):
    """`rate` calls/s (None: closed loop); `arrivals` constant or Poisson; `seed` for Poisson."""

    rate: float | None = None
    arrivals: Arrivals = "constant"
    seed: int = 0

    @property
    def open_loop(self) -> bool:
        return self.rate is not None

    def share(self, workers: int, index: int) -> LoadShape:
        """One of `workers` fan-out workers offers 1/workers of the rate (its own seed)."""
        if self.rate is None or workers <= 1:
            return self
        return LoadShape(rate=self.rate / workers, arrivals=self.arrivals, seed=self.seed * 1000 + index)

    def offsets(self) -> Iterator[float]:
        """Send times in seconds from the start: 0, then gaps of 1/rate or exponential."""
        assert self.rate is not None and self.rate > 0
        rng = random.Random(self.seed)
        at = 0.0
        while True:
            yield at
            at += rng.expovariate(self.rate) if self.arrivals == "poisson" else 1.0 / self.rate
