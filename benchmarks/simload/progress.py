"""Rates read off a run's progress series (records written against seconds since launch).

Why a steady part: a run's wall time includes Ray's start-up, the first calls' warm-up,
a tail where the last calls drain with the concurrency half idle, and the post-run
aggregate; none of that is the rate calls go through once the run is under way. The
steady part is where the records went from 10 % to 90 % of the total, each moment
interpolated between the two looks around it (a look every 0.5 s, so at 100 records/s
the 80 % window of 10,000 records is 80 s wide and a look's error is well under 1 %).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Progress = Sequence[tuple[float, int]]  # (seconds since launch, records written), times ascending


def crossing_s(progress: Progress, count: float) -> float | None:
    """When the records written first reached `count` (linear between looks), or None."""
    found = _crossing(progress, count)
    return found[0] if found is not None else None


def _crossing(progress: Progress, count: float) -> tuple[float, int] | None:
    """The moment, and the index of the first look that had seen it."""
    previous: tuple[float, int] | None = None
    for index, (at, written) in enumerate(progress):
        if written >= count:
            if previous is None or written == previous[1]:
                return at, index
            t0, n0 = previous
            return t0 + (at - t0) * (count - n0) / (written - n0), index
        previous = (at, written)
    return None


@dataclass(frozen=True)
class Steady:
    rate: float  # records per second between the two moments
    start_s: float
    end_s: float
    records: float  # records written between them


def steady_rate(progress: Progress, total: int, lo: float = 0.1, hi: float = 0.9) -> Steady | None:
    """Records per second between `lo` and `hi` of `total`; None if the run never got there
    or the window is too short to time (both moments between the same two looks)."""
    if not 0 <= lo < hi <= 1 or total <= 0:
        raise ValueError("need 0 <= lo < hi <= 1 and a positive total")
    start, end = _crossing(progress, lo * total), _crossing(progress, hi * total)
    if start is None or end is None or end[1] == start[1] or end[0] <= start[0]:
        return None
    records = (hi - lo) * total
    return Steady(rate=records / (end[0] - start[0]), start_s=start[0], end_s=end[0], records=records)


def first_and_last_record_s(progress: Progress) -> tuple[float | None, float | None]:
    """When the first record appeared and when the last one did (at the look that saw it)."""
    final = progress[-1][1] if progress else 0
    if final == 0:
        return None, None
    first = next(at for at, written in progress if written > 0)
    last = next(at for at, written in progress if written >= final)
    return first, last
