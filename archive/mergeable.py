"""Small mergeable accumulators the phase sections share: a mean and a Pearson correlation.

Why these shapes: a section folded over one run and the same section merged from many
lineages must show the same numbers. A mean is (n, sum) in fold order, so a run's summary
shows exactly `sum(values) / len(values)`. The correlation keeps Welford/Chan co-moments
(one pass, merge by the parallel formula), which stay exactly zero for constant values where
`sum(x) / n` subtracted back would leave rounding noise, so "no variance" stays detectable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Protocol, Self, TypeVar


class Mergeable(Protocol):
    def merge(self, other: Self) -> None: ...


K = TypeVar("K")
M = TypeVar("M", bound=Mergeable)


def merge_keyed(mine: dict[K, M], theirs: Mapping[K, M], make: Callable[[], M]) -> None:
    """Merge each of `theirs` into the same key of `mine`, starting missing keys from `make()`."""
    for key, value in theirs.items():
        target = mine.get(key)
        if target is None:
            target = mine[key] = make()
        target.merge(value)


class Mean:
    """Count and sum of the values added, in the order added."""

    __slots__ = ("n", "total")

    def __init__(self, n: int = 0, total: float = 0) -> None:
        self.n = n
        self.total = total

    def add(self, value: float) -> None:
        self.n += 1
        self.total += value

    def merge(self, other: Mean) -> None:
        self.n += other.n
        self.total += other.total

    @property
    def value(self) -> float | None:
        return self.total / self.n if self.n else None

    def to_builtins(self) -> list[float]:
        return [self.n, self.total]

    @classmethod
    def from_builtins(cls, data: list[float]) -> Mean:
        n, total = data
        return cls(int(n), total)


class Comoments:
    """Pairs (x, y) for Pearson's r: counts, means, second moments and the co-moment."""

    __slots__ = ("cxy", "m2x", "m2y", "mx", "my", "n")

    def __init__(self) -> None:
        self.n = 0
        self.mx = self.my = self.m2x = self.m2y = self.cxy = 0.0

    def add(self, x: float, y: float) -> None:
        self.n += 1
        dx = x - self.mx
        self.mx += dx / self.n
        dy_old = y - self.my
        self.my += dy_old / self.n
        self.m2x += dx * (x - self.mx)
        self.m2y += dy_old * (y - self.my)
        self.cxy += dx * (y - self.my)

    def merge(self, other: Comoments) -> None:
        if other.n == 0:
            return
        if self.n == 0:
            self.n, self.mx, self.my = other.n, other.mx, other.my
            self.m2x, self.m2y, self.cxy = other.m2x, other.m2y, other.cxy
            return
        n = self.n + other.n
        dx, dy = other.mx - self.mx, other.my - self.my
        weight = self.n * other.n / n
        self.mx += dx * other.n / n
        self.my += dy * other.n / n
        self.m2x += other.m2x + dx * dx * weight
        self.m2y += other.m2y + dy * dy * weight
        self.cxy += other.cxy + dx * dy * weight
        self.n = n

    @property
    def r(self) -> float | None:
        """Pearson r; None with fewer than 3 pairs or no variance (r is undefined, not 0)."""
        if self.n < 3 or self.m2x <= 0 or self.m2y <= 0:
            return None
        return max(-1.0, min(1.0, self.cxy / math.sqrt(self.m2x * self.m2y)))

    def to_builtins(self) -> list[float]:
        return [self.n, self.mx, self.my, self.m2x, self.m2y, self.cxy]

    @classmethod
    def from_builtins(cls, data: list[float]) -> Comoments:
        out = cls()
        n, out.mx, out.my, out.m2x, out.m2y, out.cxy = data
        out.n = int(n)
        return out
