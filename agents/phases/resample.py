"""The tool-use bootstrap's resampled means, drawn with numpy from Python's own random stream.

Why: `random.Random(seed).randrange(n)` one draw per Python call costs ~0.19 ms per resample
of 1000 values here; the aggregate's tool-use tables over a large archive resample tens of
thousands of outcomes 1000 times per row, seconds of the aggregate's whole budget. numpy's
MT19937 is the same generator as CPython's, so it is seeded with `random.Random(seed)`'s state
and gives the same 32-bit words; CPython's randrange(n) keeps the top n.bit_length() bits of a
word and rejects values >= n, which vectorises. The sums are exact (outcomes are 0/1 or
-1/0/1, integers far below 2**53), so every mean, and so the interval, is bit-for-bit what
the loop gives.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

_CHUNK = 1 << 20  # 32-bit words drawn per numpy call


def _python_stream(seed: int) -> np.random.MT19937:
    """A numpy MT19937 in exactly the state `random.Random(seed)` starts in."""
    words = random.Random(seed).getstate()[1]  # 624 state words, then the position
    generator = np.random.MT19937()
    generator.state = {"bit_generator": "MT19937",
                       "state": {"key": np.array(words[:624], dtype=np.uint32), "pos": words[624]}}
    return generator


def integral(values: Sequence[float]) -> bool:
    """True when every value is a whole number small enough for exact float sums in any order."""
    return all(float(v).is_integer() and abs(v) <= 1 << 20 for v in values) and len(values) < 1 << 31


def resampled_means(values: Sequence[float], resamples: int, seed: int) -> npt.NDArray[np.float64]:
    """The means of `resamples` resamples (with replacement) of `values`, in the order
    `random.Random(seed)` with `values[rng.randrange(n)]` draws them. Needs `integral(values)`."""
    data = np.asarray(values, dtype=np.float64).astype(np.int32)  # whole numbers: gathers stay small
    n = len(data)
    shift = np.uint32(32 - n.bit_length())
    generator = _python_stream(seed)
    sums = np.empty(resamples, dtype=np.int64)
    pending = np.empty(0, dtype=np.uint32)
    done = 0
    while done < resamples:
        words = generator.random_raw(_CHUNK).astype(np.uint32) >> shift
        pending = np.concatenate([pending, words[words < n]])
        ready = min(len(pending) // n, resamples - done)
        if ready:
            drawn = pending[: ready * n].reshape(ready, n)
            sums[done:done + ready] = data[drawn].sum(axis=1, dtype=np.int64)
            pending = pending[ready * n:]
            done += ready
    return sums.astype(np.float64) / n
