"""Wilson intervals: never zero-width at small n, exact bounds at 0 and n, vacuous at n = 0."""

from __future__ import annotations

import pytest

from harness.intervals import wilson


@pytest.mark.parametrize("k,n", [(0, 2), (1, 2), (2, 2), (0, 1), (1, 1), (3, 5)])
def test_never_zero_width(k: int, n: int) -> None:
    interval = wilson(k, n)
    assert interval.hi - interval.lo > 0.2
    assert interval.lo <= k / n <= interval.hi


def test_known_value() -> None:
    # Wilson 95 % for 8/10, as tabulated (Newcombe 1998): 0.490 to 0.943
    interval = wilson(8, 10)
    assert interval.lo == pytest.approx(0.4902, abs=1e-3)
    assert interval.hi == pytest.approx(0.9433, abs=1e-3)


def test_bounds_and_empty() -> None:
    assert wilson(0, 4).lo == 0.0
    assert wilson(4, 4).hi == 1.0
    empty = wilson(0, 0)
    assert (empty.lo, empty.hi, empty.point, empty.n) == (0.0, 1.0, None, 0)
    with pytest.raises(ValueError):
        wilson(5, 4)
