"""Rankings the data support: per category, per score source, and an equal-weight overall.

Why the item is the unit: an item's repeats (and its prompt variants, the phases that ask
it, and the same item on other days) are one measurement of the model on that item, so each item contributes its
mean once; `--repeat 5` on the same outputs moves no interval.

Why ranks come from paired comparisons: two models answered the same items, and an item's
difficulty is shared by both, so the difference of their item means on the shared items
is far more precise than two separate intervals overlapping or not (Chatbot Arena's lesson,
a rank is only as good as its interval, applied to the pair). A model outranks another
only when that paired difference's interval (`harness.intervals`) excludes zero;
otherwise they are tied. rank = 1 + the number of models that outrank it.

Why "overall" is an equal-weight mean over categories: pooling every scored answer lets a
category with many items (tool calls, say) outweigh one with few; each category's mean
counts once, stated in the table. Why per-source rankings beside it: a rubric total, a
judge's verdict, a format-adherence fraction and a tool-call pass are different measures;
each source gets its own table (equal weight over its categories), so nothing is pooled
without the reader seeing each part.

Why a sizing line per table: the smallest difference its n could detect (80 % power,
alpha 0.05) tells the reader whether "tied" means "equal" or "too few items".
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field

from calibration.evidence import CallCell, CallKey, UnitKey
from calibration.failures import failure_rows
from calibration.schema import Rankings, RankRow, Sizing
from calibration.scores import SCORE_SOURCE_TEXT, SOURCES
from calibration.suspects import suspect_items
from harness.intervals import (
    CONFIDENCE,
    POWER,
    Interval,
    detectable_net_wins,
    effective_n,
    stratified_mean,
    stratified_net_wins,
)

DEFAULT_CONFIDENCE = CONFIDENCE
SCORE_RANGE = (0.0, 100.0)
UnitId = tuple[str, str]  # (source, item_id): the same item asked by several phases is one unit
METHOD_TEXT = (
    "the item is the unit (its repeats, prompt variants and runs averaged first); means and 95% intervals by a "
    "Bayesian bootstrap with one pseudo-observation at the bound (Clopper-Pearson on 0/1 scores; closed form, "
    "no resampling); a model outranks another only when its net win rate over the other on their shared items "
    "(items won minus items lost, as a share) has an interval above zero, else they tie; overall and per-source "
    "tables weigh categories equally; detectable: the smallest net win rate found with power "
    f"{POWER:.1f} at alpha {1 - CONFIDENCE:.2f} two-sided for the median pair's effective number of shared "
    "items, with no tied items")


@dataclass
class _Model:
    strata: dict[str, dict[UnitId, float]] = field(default_factory=dict)  # category -> unit -> mean
    answers: int = 0

    def interval(self, confidence: float) -> Interval:
        return stratified_mean([list(u.values()) for _, u in sorted(self.strata.items())], *SCORE_RANGE,
                               confidence=confidence)


Table = dict[str, _Model]  # model -> its units in this table


def _paired(a: _Model, b: _Model, confidence: float) -> tuple[Interval, float] | None:
    """a's net win rate over b on their shared items (categories weighted equally) and the
    comparison's effective n; None when they share no item."""
    strata = []
    for category in sorted(a.strata.keys() & b.strata.keys()):
        ua, ub = a.strata[category], b.strata[category]
        pairs = [(ua[u], ub[u]) for u in sorted(ua.keys() & ub.keys())]
        if pairs:
            strata.append(pairs)
    if not strata:
        return None
    return stratified_net_wins(strata, confidence=confidence), effective_n([len(p) for p in strata])


def rank_table(table: Mapping[str, _Model], confidence: float = DEFAULT_CONFIDENCE) -> tuple[list[RankRow], Sizing]:
    """One row per model, by rank, then best mean, then name; and the table's sizing."""
    models = sorted(m for m, data in table.items() if data.strata)
    beaten_by: dict[str, set[str]] = {m: set() for m in models}
    shared: list[int] = []
    effective: list[float] = []
    for i, a in enumerate(models):
        for b in models[i + 1:]:
            compared = _paired(table[a], table[b], confidence)
            if compared is None:
                continue
            diff, n_eff = compared
            shared.append(diff.n)
            effective.append(n_eff)
            if diff.lo > 0:
                beaten_by[b].add(a)
            elif diff.hi < 0:
                beaten_by[a].add(b)
    rows = []
    for m in models:
        interval = table[m].interval(confidence)
        outranks = sorted(o for o in models if m in beaten_by[o])
        tied = sorted(o for o in models if o != m and o not in outranks and o not in beaten_by[m])
        rows.append(RankRow(model=m, rank=1 + len(beaten_by[m]), mean=interval.point or 0.0, ci_low=interval.lo,
                            ci_high=interval.hi, n=interval.n, tied_with=tied, outranks=outranks,
                            answers=table[m].answers, categories=len(table[m].strata)))
    n_eff = statistics.median(effective) if effective else 0.0
    sizing = Sizing(pairs=len(shared), shared_items=int(statistics.median(shared)) if shared else None,
                    effective_items=round(n_eff, 1) if effective else None,
                    detectable=detectable_net_wins(n_eff, confidence=confidence) if effective else None)
    return sorted(rows, key=lambda r: (r.rank, -r.mean, r.model)), sizing


def _put(table: Table, model: str, stratum: str, unit: UnitId, mean: float, answers: int) -> None:
    entry = table.setdefault(model, _Model())
    entry.strata.setdefault(stratum, {})[unit] = mean
    entry.answers += answers


def build_rankings(units: Mapping[UnitKey, list[float]], calls: Mapping[CallKey, CallCell], *, now: str,
                   confidence: float = DEFAULT_CONFIDENCE) -> Rankings:
    """`units`: (model, source, phase, item, category) -> [total, n] over ok answers."""
    overall: Table = {}
    by_category: dict[str, Table] = {}
    by_source: dict[str, Table] = {}
    # one unit per item across phases: streaming-ttft re-asks the baseline items and
    # long-context asks them again under filler, so per phase they would be counted twice
    # or three times, and an interval would narrow on repeats of one prompt
    merged: dict[tuple[str, str, str, str], list[float]] = {}
    for (model, source, _phase, item, category), (total, n) in units.items():
        acc = merged.setdefault((model, source, item, category), [0.0, 0.0])
        acc[0] += total
        acc[1] += n
    for (model, source, item, category), (total, n) in sorted(merged.items()):
        if n <= 0:
            continue
        mean, answers, unit = total / n, int(n), (source, item)
        _put(overall, model, category, unit, mean, answers)
        _put(by_category.setdefault(category, {}), model, category, unit, mean, answers)
        _put(by_source.setdefault(source, {}), model, category, unit, mean, answers)
    overall_rows, overall_sizing = rank_table(overall, confidence)
    categories = {c: rank_table(t, confidence) for c, t in sorted(by_category.items())}
    ordered_sources = [s for s in SOURCES if s in by_source] + sorted(set(by_source) - set(SOURCES))
    sources = {s: rank_table(by_source[s], confidence) for s in ordered_sources}
    return Rankings(
        generated_at=now, score_source=SCORE_SOURCE_TEXT, confidence=confidence, bootstrap_samples=0,
        method=METHOD_TEXT, overall=overall_rows, overall_sizing=overall_sizing,
        by_category={c: rows for c, (rows, _) in categories.items()},
        category_sizing={c: sizing for c, (_, sizing) in categories.items()},
        by_source={s: rows for s, (rows, _) in sources.items()},
        source_sizing={s: sizing for s, (_, sizing) in sources.items()},
        failures=failure_rows(calls, confidence), suspect_items=suspect_items(units))
