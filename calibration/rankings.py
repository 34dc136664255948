"""Rankings overall and per category, each mean with a percentile bootstrap interval.

Why intervals decide ranks (Chatbot Arena's lesson: a rank is only as good as its
interval): rank = 1 + the number of models whose interval lies wholly above this one's,
so models whose intervals overlap share a rank and are listed as tied.

Why a seeded RNG: the same archive must give the same table twice (a re-run of
`fleetbench calibrate` that reorders a tie would look like news). Every cell draws from
its own generator seeded the same way, so adding a model never moves another's interval.

Why n = 1 gets the whole 0-100 range: one sample says nothing about spread, and the
zero-width interval a bootstrap gives it would fake certainty. The consequence is stated,
not hidden: such a model outranks nobody and nobody outranks it (it ties with everyone).

Why two ways to draw the same bootstrap: the resampled mean depends only on how often each
distinct value is drawn, and those counts are Multinomial(n, value shares). Scores are
often coarse (tool calls are 0 or 100, adherence a few fractions), and then drawing the
counts costs O(distinct values) per resample instead of O(n): an archive of 50,000 tool
calls costs what 5 would. Continuous scores (rubric totals, judge means) have about as
many distinct values as samples, and numpy's multinomial is ~20x slower per category
than plain index resampling, so those resample indices. Both give the classic bootstrap
distribution; which one runs depends only on the data, so a result stays reproducible.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from calibration.schema import Rankings, RankRow
from calibration.scores import SCORE_SOURCE_TEXT, ScoredRecord

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95
DEFAULT_SEED = 0
SINGLE_SAMPLE_INTERVAL = (0.0, 100.0)
_CHUNK_CELLS = 1_000_000  # numbers drawn at once (resamples x values): bounds memory
_MULTINOMIAL_RATIO = 20  # counts beat indices when n >= this x distinct values (measured)


def bootstrap_interval(values: Sequence[float], *, resamples: int = DEFAULT_RESAMPLES,
                       confidence: float = DEFAULT_CONFIDENCE, seed: int = DEFAULT_SEED) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean; always contains the sample mean."""
    if resamples < 1:
        raise ValueError(f"bootstrap resamples must be >= 1, got {resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if len(values) < 2:
        return SINGLE_SAMPLE_INTERVAL
    data = np.asarray(values, dtype=float)
    distinct, counts = np.unique(data, return_counts=True)
    n = len(data)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    by_counts = n >= _MULTINOMIAL_RATIO * len(distinct)
    width = len(distinct) if by_counts else n
    step = max(1, _CHUNK_CELLS // width)
    for start in range(0, resamples, step):
        size = min(step, resamples - start)
        if by_counts:
            means[start:start + size] = rng.multinomial(n, counts / n, size=size) @ distinct / n
        else:
            means[start:start + size] = data[rng.integers(0, n, size=(size, n))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    mean = float(data.mean())
    # a skewed sample can leave its own mean just outside a percentile interval; widen to it
    return min(float(low), mean), max(float(high), mean)


def rank_rows(samples: Mapping[str, Sequence[float]], *, resamples: int = DEFAULT_RESAMPLES,
              confidence: float = DEFAULT_CONFIDENCE, seed: int = DEFAULT_SEED) -> list[RankRow]:
    """One row per model with at least one sample: by rank, then best mean, then name."""
    stats: dict[str, tuple[float, float, float, int]] = {}
    for model, values in samples.items():
        if values:
            low, high = bootstrap_interval(values, resamples=resamples, confidence=confidence, seed=seed)
            stats[model] = (float(np.mean(values)), low, high, len(values))
    rows = []
    for model, (mean, low, high, n) in stats.items():
        others = [(other, s) for other, s in stats.items() if other != model]
        above = sum(1 for _, s in others if s[1] > high)
        tied = sorted(other for other, s in others if s[1] <= high and low <= s[2])
        rows.append(RankRow(model=model, rank=1 + above, mean=mean, ci_low=low, ci_high=high, n=n,
                            tied_with=tied))
    return sorted(rows, key=lambda r: (r.rank, -r.mean, r.model))


def build_rankings(scored: Iterable[ScoredRecord], *, now: str, resamples: int = DEFAULT_RESAMPLES,
                   confidence: float = DEFAULT_CONFIDENCE, seed: int = DEFAULT_SEED) -> Rankings:
    """Overall (every scored record of a model, whatever its category) and per category."""
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
