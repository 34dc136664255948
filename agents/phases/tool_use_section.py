"""The tool-use section: accuracy per category with intervals, failure modes per category,
prompt variants against `baseline`, tiers, and the calls that failed before answering.

The accuracy rule is calibration's (`calibration.scores`, `calibration.rankings`), so the two
never disagree on the same records:
- only ok calls with a verdict are scored; a call that failed is reported apart, the
  provider's failures (rate limits exhausted, 5xx, context overflow) as the model's
  availability, ours (`harness.errors.fault_of`: a lost subagent, a limiter or scorer bug,
  no key) as fleetbench's, never the model's;
- the item is the unit: an item's repeats are averaged first, so `--repeat 5` on the same
  outputs moves no interval;
- "all" weighs categories equally (BFCL's categories differ tenfold in size), its interval by
  `harness.intervals.stratified_mean`; one category's by `bounded_mean` (Clopper-Pearson on
  0/1 items);
- a variant's improvement over `baseline` is the paired difference on the items both
  answered, categories weighted equally (`stratified_paired_difference`), never zero-width.
A tier is given only when the best variant's whole interval lies in that tier's range (tier
1 needs the lower bound at or above `tier1_min`); otherwise it is "uncertain" with the tiers
the interval spans. The dashboard's tool-use tab calls these functions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import msgspec

from agents.phases.tool_use_prompts import VARIANTS
from archive.section_state import RecordView
from harness.errors import fault_of
from harness.intervals import Interval, bounded_mean, stratified_mean, stratified_paired_difference
from harness.tool_scoring import FAILURE_CLASSES

if TYPE_CHECKING:
    from agents.phases.tool_use import ToolUsePhase

ALL = "all"  # the equal-weight row over categories
TIER_NAMES = {1: "capable", 2: "partial", 3: "incapable"}
# one (item, repeat)'s latest outcome: (1.0 passed / 0.0 failed, its failure class) for a scored
# ok call, (None, error class) for a call that failed before answering
Cell = tuple[float | None, str | None]
Cells = dict[tuple[str, int], Cell]
ItemMeans = dict[str, dict[str, float]]  # category -> item -> mean pass over its repeats


def item_means(cells: Mapping[tuple[str, int], Cell], categories: Mapping[str, str]) -> ItemMeans:
    """Scored cells as per-item means (the unit), grouped by category."""
    sums: dict[str, list[float]] = {}
    for (item, _), (score, _) in cells.items():
        if score is not None:
            acc = sums.setdefault(item, [0.0, 0.0])
            acc[0] += score
            acc[1] += 1
    out: ItemMeans = {}
    for item, (total, n) in sorted(sums.items()):
        out.setdefault(categories.get(item, "general"), {})[item] = total / n
    return out


def category_accuracy(means: Mapping[str, Mapping[str, float]]) -> dict[str, Interval]:
    """Each category's accuracy and, under `ALL`, the equal-weight mean over categories."""
    out = {category: bounded_mean(list(items.values())) for category, items in sorted(means.items())}
    out[ALL] = stratified_mean([list(items.values()) for _, items in sorted(means.items())])
    return out


def paired_improvement(variant: Mapping[str, Mapping[str, float]], base: Mapping[str, Mapping[str, float]]
                       ) -> Interval | None:
    """variant - base on the items both answered, categories weighted equally; None: no shared item."""
    strata = []
    for category in sorted(variant.keys() & base.keys()):
        v, b = variant[category], base[category]
        pairs = [(v[i], b[i]) for i in sorted(v.keys() & b.keys())]
        if pairs:
            strata.append(pairs)
    return stratified_paired_difference(strata) if strata else None


def tier_of(rate: float, tier1_min: float, tier2_min: float) -> int:
    """The tier a rate falls in: 1 capable, 2 partial, 3 incapable."""
    if rate >= tier1_min:
        return 1
    return 2 if rate >= tier2_min else 3


def interval_tier(interval: Interval, tier1_min: float, tier2_min: float) -> tuple[int | None, str]:
    """A tier only when the whole interval lies in its range (tier 1 needs the lower bound to
    clear `tier1_min`); otherwise None and "uncertain: tier a-b"."""
    low, high = tier_of(interval.lo, tier1_min, tier2_min), tier_of(interval.hi, tier1_min, tier2_min)
    if low == high:
        return low, f"{low} ({TIER_NAMES[low]})"
    return None, f"uncertain: tier {high}-{low}"


def ordered_variants(variants: Iterable[str]) -> list[str]:
    present = set(variants)
    return [v for v in VARIANTS if v in present] + sorted(present - set(VARIANTS))


def best_variant(accuracy: Mapping[str, Interval]) -> str:
    """The variant with the best point estimate (canonical order breaks ties)."""
    return max(ordered_variants(accuracy), key=lambda v: accuracy[v].point or 0.0)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _ci(interval: Interval, unit: str = "") -> str:
    sign = "+" if unit else ""
    return f"[{100 * interval.lo:{sign}.1f}, {100 * interval.hi:{sign}.1f}]"


class ToolUseSection:
    """The tool-use section's state: per model and variant, each (item, repeat)'s latest cell,
    and each item's category. A later record for the same (model, variant, item, repeat)
    replaces the earlier one, in folding and in merging alike, failures included."""

    def __init__(self, phase: ToolUsePhase, data: object = None) -> None:
        self.phase = phase
        self.cells: dict[str, dict[str, Cells]] = {}  # model -> variant -> cells
        self.categories: dict[str, str] = {}  # item -> category
        self._index: dict[tuple[str, str], Cells] = {}  # into `cells`, found once per (model, variant)
        if data is not None:
            cells, categories = msgspec.convert(
                data, tuple[list[tuple[str, str, list[tuple[str, int, float | None, str | None]]]], dict[str, str]])
            for model, variant, rows in cells:
                self.cells.setdefault(model, {})[variant] = {(i, r): (s, label) for i, r, s, label in rows}
            self.categories = categories

    def _cells(self, model: str, variant: str) -> Cells:
        found = self._index.get((model, variant))
        if found is None:
            found = self._index[(model, variant)] = self.cells.setdefault(model, {}).setdefault(variant, {})
        return found

    def add(self, r: RecordView) -> None:
        if r.status == "ok":
            passed = r.extra.get("tool_passed")
            if not isinstance(passed, bool):
                return
            failure = r.extra.get("tool_failure")
            cell: Cell = (1.0 if passed else 0.0, failure if isinstance(failure, str) else None)
        elif r.status == "error":
            cell = (None, r.error_class or "unknown")
        else:
            return  # skipped: never called
        cells = self._index.get((r.model, r.variant))  # `_cells` inlined: the aggregate's hot path
        if cells is None:
            cells = self._cells(r.model, r.variant)
        cells[(r.item_id, r.repeat)] = cell
        self.categories[r.item_id] = r.category

    def merge(self, other: ToolUseSection) -> None:
        for model, by_variant in other.cells.items():
            for variant, cells in by_variant.items():
                self._cells(model, variant).update(cells)
        self.categories.update(other.categories)

    def to_builtins(self) -> object:
        cells = [[model, variant, [[item, repeat, score, label] for (item, repeat), (score, label) in rows.items()]]
                 for model, by_variant in self.cells.items() for variant, rows in by_variant.items()]
        return [cells, dict(self.categories)]

    # -- rendering ---------------------------------------------------------------------------

    def means(self) -> dict[str, dict[str, ItemMeans]]:
        """model -> variant -> category -> item -> mean pass (variants with a scored call)."""
        out: dict[str, dict[str, ItemMeans]] = {}
        for model, by_variant in sorted(self.cells.items()):
            for variant in ordered_variants(by_variant):
                means = item_means(by_variant[variant], self.categories)
                if means:
                    out.setdefault(model, {})[variant] = means
        return out

    def render(self) -> str | None:
        if not self.cells:
            return None
        means = self.means()
        scored = [self._accuracy_table(means), self._failure_table(), self._improvement_table(means),
                  self._tier_table(means)] if means else []  # every call failed: only why
        parts = [*scored, self._failed_calls_table()]
        return "\n\n".join(p for p in parts if p)

    def _accuracy_table(self, means: Mapping[str, Mapping[str, ItemMeans]]) -> str:
        lines = [("**Tool-use accuracy by category** (scored ok calls; the item is the unit, its repeats "
                 f"averaged; `{ALL}`, where there are several categories, weighs them equally; 95% interval)"), "",
                 "| model | variant | category | items | accuracy | 95% CI |", "|---|---|---|---:|---:|---|"]
        for model, by_variant in means.items():
            for variant, by_category in by_variant.items():
                accuracy = category_accuracy(by_category)
                if len(by_category) == 1:
                    del accuracy[ALL]  # the one category's row says it
                for category, interval in accuracy.items():
                    lines.append(f"| {model} | {variant or '-'} | {category} | {interval.n} | "
                                 f"{_pct(interval.point)} | {_ci(interval)} |")
        return "\n".join(lines)

    def failure_counts(self) -> dict[str, dict[str, Counter[str]]]:
        """model -> category -> failure class -> scored calls (over every variant); every
        category with a scored call is there, with no classes when none failed."""
        out: dict[str, dict[str, Counter[str]]] = {}
        for model, by_variant in sorted(self.cells.items()):
            for cells in by_variant.values():
                for (item, _), (score, label) in cells.items():
                    if score is not None:
                        counts = out.setdefault(model, {}).setdefault(self.categories.get(item, "general"), Counter())
                        if label is not None:
                            counts[label] += 1
        return out

    def _failure_table(self) -> str:
        counts = self.failure_counts()
        used = [f for f in FAILURE_CLASSES if any(c[f] for by in counts.values() for c in by.values())]
        used += sorted({f for by in counts.values() for c in by.values() for f in c} - set(FAILURE_CLASSES))
        lines = ["**Tool-use failure modes by category** (scored calls, over all variants)", "",
                 "| model | category | " + " | ".join(used or ["(no failures)"]) + " |",
                 "|---|---|" + "---:|" * max(1, len(used))]
        for model in sorted(self.cells):
            for category, c in sorted(counts.get(model, {}).items()):
                lines.append(f"| {model} | {category} | " + " | ".join(str(c[f]) for f in used or [""]) + " |")
        return "\n".join(lines)

    def _improvement_table(self, means: Mapping[str, Mapping[str, ItemMeans]]) -> str | None:
        lines = [("**Improvement over `baseline`** (accuracy difference on the items both answered, "
                 "categories weighted equally, 95% interval)"), "",
                 "| model | variant | paired items | difference | 95% CI |", "|---|---|---:|---:|---|"]
        for model, by_variant in means.items():
            base = by_variant.get("baseline")
            if base is None:
                continue
            for variant, by_category in by_variant.items():
                diff = None if variant == "baseline" else paired_improvement(by_category, base)
                if diff is not None:
                    lines.append(f"| {model} | {variant} | {diff.n} | {100 * (diff.point or 0.0):+.1f} pp | "
                                 f"{_ci(diff, 'pp')} |")
        return "\n".join(lines) if len(lines) > 4 else None

    def _tier_table(self, means: Mapping[str, Mapping[str, ItemMeans]]) -> str:
        phase = self.phase
        lines = [(f"**Tool-use tier** (best variant's `{ALL}` accuracy: 1 when its whole 95% interval is "
                 f">= {phase.tier1_min:.0%}, 2 when it lies in [{phase.tier2_min:.0%}, {phase.tier1_min:.0%}), "
                 f"3 when below {phase.tier2_min:.0%}; otherwise uncertain)"), "",
                 "| model | best variant | accuracy | 95% CI | tier |", "|---|---|---:|---|---|"]
        for model, by_variant in means.items():
            overall = {v: category_accuracy(c)[ALL] for v, c in by_variant.items()}
            best = best_variant(overall)
            _, label = interval_tier(overall[best], phase.tier1_min, phase.tier2_min)
            lines.append(f"| {model} | {best or '-'} | {_pct(overall[best].point)} | {_ci(overall[best])} | {label} |")
        return "\n".join(lines)

    def _failed_calls_table(self) -> str | None:
        rows: list[str] = []
        for model, by_variant in sorted(self.cells.items()):
            scored = sum(1 for cells in by_variant.values() for score, _ in cells.values() if score is not None)
            errors = Counter(label or "unknown" for cells in by_variant.values()
                             for score, label in cells.values() if score is None)
            if not errors:
                continue
            provider = {c: n for c, n in sorted(errors.items()) if fault_of(c) == "provider"}
            ours = {c: n for c, n in sorted(errors.items()) if fault_of(c) == "ours"}
            rows.append(f"| {model} | {scored} | {sum(provider.values())} | {_classes(provider)} | "
                        f"{sum(ours.values())} | {_classes(ours)} |")
        if not rows:
            return None
        return "\n".join([("**Tool-use calls that failed before answering** (not scored: the provider's count "
                          "against the model's availability, ours never against the model)"), "",
                          "| model | scored calls | provider failures | classes | our failures | classes |",
                          "|---|---:|---:|---|---:|---|", *rows])


def _classes(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{c} {n}" for c, n in counts.items()) or "-"

