"""A mergeable summary of non-negative values (latencies, token counts) for percentiles.

Why exact first, then a sketch: a run's summary must show the same p50/p95 as the values
themselves (`harness.timing.percentile`), and most groups are small. The aggregate over
years of runs must not hold every value, so past `EXACT_LIMIT` values a summary turns into a
log-bucket sketch (the DDSketch scheme): bucket k holds values in (g^(k-1), g^k], with
g = (1 + a) / (1 - a), and reports 2 g^k / (g + 1), within a relative `a` of every value in
it. Percentiles interpolate between the estimates of the two nearest ranks exactly as the
exact rule does, so a sketched percentile is within `RELATIVE_ACCURACY` of the exact one.
Bucket counts are integers, so merging is exact and order-free: the same values give the
same sketch however they were split across runs and caches.

Why hand-rolled on numpy: the `ddsketch` package (3.0.1) adds one value per Python call,
0.44 us each here, against 0.01 us per value for a numpy bulk insert of the buffered values;
at a million records that is the difference between inside and outside the aggregate's
time budget (benchmarks/scale.py).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

EXACT_LIMIT = 16384  # values kept exactly per summary; past this, the sketch
RELATIVE_ACCURACY = 0.005  # the sketch's bound on |estimate - exact| / exact
_GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(_GAMMA)
_MIN_VALUE = 1e-9  # below this a value counts as 0 (latencies and counts are >= 0)
_MAX_VALUE = 1e13  # above this a value counts in the top bucket (ms: three centuries)
_KEY_MIN = math.ceil(math.log(_MIN_VALUE) / _LOG_GAMMA)
_KEY_MAX = math.ceil(math.log(_MAX_VALUE) / _LOG_GAMMA)
_FLUSH = 4096  # sketch mode: values buffered before one bulk insert
SKETCH_NOTE = (f"Percentiles are exact up to {EXACT_LIMIT} values per row; beyond that they come from a "
               f"log-bucket sketch within {100 * RELATIVE_ACCURACY:g}% of the exact value. Counts are exact.")


def _keys(values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Bucket index (offset so the smallest bucket is 1) per value; 0 for the zero bucket."""
    clipped = np.clip(values, _MIN_VALUE, _MAX_VALUE)
    keys = np.ceil(np.log(clipped) / _LOG_GAMMA).astype(np.int64) - _KEY_MIN + 1
    keys[values < _MIN_VALUE] = 0
    return keys


def _estimate(index: int) -> float:
    """The value bucket `index` (as from `_keys`) reports."""
    if index == 0:
        return 0.0
    return 2.0 * _GAMMA ** (index - 1 + _KEY_MIN) / (_GAMMA + 1.0)


def _exact_percentiles(values: array[float], qs: tuple[float, ...]) -> list[float | None]:
    """`harness.timing.percentile` of `values` at each q, bit for bit: the same interpolation
    in Python floats, over a numpy sort (the aggregate draws these for every row of every
    lineage; sorting in numpy took the share of the time they cost from 8% to ~1%)."""
    if not values:
        return [None for _ in qs]
    ordered = np.sort(np.frombuffer(values, dtype=np.float64), kind="stable")
    n = len(ordered)
    if n == 1:
        return [ordered.item(0) for _ in qs]
    out: list[float | None] = []
    for q in qs:
        pos = (n - 1) * q / 100.0
        lo = int(pos)
        low, high = ordered.item(lo), ordered.item(min(lo + 1, n - 1))
        out.append(low + (high - low) * (pos - lo))
    return out


class Latencies:
    """Values for percentiles: exact while there are at most `EXACT_LIMIT`, else a sketch."""

    __slots__ = ("_binned", "_counts", "_room", "values")

    def __init__(self) -> None:
        self.values = array("d")  # every value (exact mode) or those not yet binned (sketch)
        self._counts: npt.NDArray[np.int64] | None = None  # per bucket, once a sketch
        self._binned = 0
        self._room = EXACT_LIMIT

    def add(self, value: float) -> None:
        values = self.values
        values.append(value)
        if len(values) > self._room:
            self._spill()

    def settle(self) -> None:
        """Bin the buffer if it outgrew its room: for callers that append to `values` directly
        (a hot loop), once after the loop; the result is the same as adding one by one."""
        if len(self.values) > self._room:
            self._spill()

    def extend(self, values: Iterable[float]) -> None:
        self.values.extend(values)
        if len(self.values) > self._room:
            self._spill()

    def __len__(self) -> int:
        return self._binned + len(self.values)

    @property
    def exact(self) -> bool:
        return self._counts is None

    def _spill(self) -> None:
        """Bin the buffered values (turning into a sketch if still exact)."""
        if self._counts is None:
            self._counts = np.zeros(_KEY_MAX - _KEY_MIN + 2, dtype=np.int64)
            self._room = _FLUSH
        if self.values:
            buffered = np.frombuffer(self.values, dtype=np.float64)
            self._counts += np.bincount(_keys(buffered), minlength=len(self._counts))
            self._binned += len(self.values)
            self.values = array("d")

    def merge(self, other: Latencies) -> None:
        """Fold in `other`'s values (order-free: the result depends only on the values)."""
        if other._counts is not None:
            self._spill()
            assert self._counts is not None
            self._counts += other._counts
            self._binned += other._binned
        self.extend(other.values)

    def percentiles(self, *qs: float) -> list[float | None]:
        """Linear-interpolated percentiles (q in 0..100); None for no values. Exact mode is
        `harness.timing.percentile` itself; sketch mode interpolates bucket estimates."""
        if self._counts is None:
            return _exact_percentiles(self.values, qs)
        self._spill()
        n = self._binned
        cumulative = np.cumsum(self._counts)

        def at_rank(rank: int) -> float:
            return _estimate(int(np.searchsorted(cumulative, rank, side="right")))

        out: list[float | None] = []
        for q in qs:
            pos = (n - 1) * q / 100.0
            lo = int(pos)
            hi = min(lo + 1, n - 1)
            low, high = at_rank(lo), at_rank(hi)
            out.append(low + (high - low) * (pos - lo))
        return out

    def percentile(self, q: float) -> float | None:
        return self.percentiles(q)[0]

    def to_builtins(self) -> dict[str, bytes]:
        """Raw little-endian arrays: the buffered values, and the sketch's non-empty buckets."""
        data = {"v": self.values.tobytes()}
        if self._counts is not None:
            (index,) = np.nonzero(self._counts)
            data["k"] = index.astype(np.int32).tobytes()
            data["c"] = self._counts[index].tobytes()
        return data

    @classmethod
    def from_builtins(cls, data: object) -> Latencies:
        out = cls()
        if not isinstance(data, dict):
            return out
        raw = data.get("v")
        if isinstance(raw, bytes):
            out.values.frombytes(raw)
        keys, counts = data.get("k"), data.get("c")
        if isinstance(keys, bytes) and isinstance(counts, bytes):
            out._counts = np.zeros(_KEY_MAX - _KEY_MIN + 2, dtype=np.int64)
            binned = np.frombuffer(counts, dtype=np.int64)
            out._counts[np.frombuffer(keys, dtype=np.int32)] = binned
            out._binned = int(binned.sum())
            out._room = _FLUSH
        return out
