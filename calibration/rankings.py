"""Rankings overall and per category, each mean with a percentile bootstrap interval.

Why intervals decide ranks (Chatbot Arena's lesson: a rank is only as good as its
interval): rank = 1 + the number of models whose interval lies wholly above this one's,
so models whose intervals overlap share a rank and are listed as tied. Why a seeded RNG:
the same archive must give the same table twice. Why n = 1 gets the whole 0-100 range:
one sample says nothing about spread, and a zero-width interval would fake certainty.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from calibration.schema import Rankings, RankRow
from calibration.scores import SCORE_SOURCE_TEXT, ScoredRecord

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95


def bootstrap_interval(values: Sequence[float], *, resamples: int = DEFAULT_RESAMPLES,
                       confidence: float = DEFAULT_CONFIDENCE, seed: int = 0) -> tuple[float, float]:
    if len(values) < 2:
        return 0.0, 100.0
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(resamples, len(data)))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def rank_rows(samples: Mapping[str, Sequence[float]], *, resamples: int = DEFAULT_RESAMPLES,
              confidence: float = DEFAULT_CONFIDENCE, seed: int = 0) -> list[RankRow]:
    """One row per model with at least one sample, best mean first."""
    stats = {}
    for model, values in samples.items():
        if values:
            low, high = bootstrap_interval(values, resamples=resamples, confidence=confidence, seed=seed)
            stats[model] = (float(np.mean(values)), low, high, len(values))
    rows = []
    for model, (mean, low, high, n) in stats.items():
        above = sum(1 for other, s in stats.items() if other != model and s[1] > high)
        tied = sorted(other for other, s in stats.items() if other != model and s[1] <= high and low <= s[2])
        rows.append(RankRow(model=model, rank=1 + above, mean=mean, ci_low=low, ci_high=high, n=n,
                            tied_with=tied))
    return sorted(rows, key=lambda r: (r.rank, -r.mean, r.model))


def build_rankings(scored: Iterable[ScoredRecord], *, now: str, resamples: int = DEFAULT_RESAMPLES,
                   confidence: float = DEFAULT_CONFIDENCE, seed: int = 0) -> Rankings:
    overall: dict[str, list[float]] = defaultdict(list)
    by_category: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for s in scored:
        overall[s.model].append(s.score)
        by_category[s.category][s.model].append(s.score)
    return Rankings(
        generated_at=now, score_source=SCORE_SOURCE_TEXT, confidence=confidence, bootstrap_samples=resamples,
        overall=rank_rows(overall, resamples=resamples, confidence=confidence, seed=seed),
        by_category={cat: rank_rows(models, resamples=resamples, confidence=confidence, seed=seed)
                     for cat, models in sorted(by_category.items())})
