"""Items whose gold answer may be wrong, or that are too easy to tell models apart.

Why: when every model fails an item outright, the item (its expected answer, its checker)
is the likelier culprit (BFCL's users found such gold answers); when every model passes
it outright, it costs calls and separates nobody. At least three models must have answered
it, so two weak models failing together is not taken for a broken item. "Outright" is the
score's bound: an item mean of 0 (no answer earned any credit) or of 100.
"""

from __future__ import annotations

from collections.abc import Mapping

from calibration.evidence import UnitKey
from calibration.schema import SuspectItem

MIN_MODELS = 3


def suspect_items(units: Mapping[UnitKey, list[float]], min_models: int = MIN_MODELS) -> list[SuspectItem]:
    """`units`: (model, source, phase, item, category) -> [total, n] of 0-100 scores. An item
    asked in several phases (baseline, long-context, ...) is judged on each model's mean
    over them: its gold answer is the same in each."""
    per_model: dict[tuple[str, str, str], dict[str, list[float]]] = {}
    phases: dict[tuple[str, str, str], set[str]] = {}
    for (model, source, phase, item, category), (total, n) in sorted(units.items()):
        if n > 0:
            key = (item, category, source)
            per_model.setdefault(key, {}).setdefault(model, []).append(total / n)
            phases.setdefault(key, set()).add(phase)
    out: list[SuspectItem] = []
    for (item, category, source), models in sorted(per_model.items()):
        if len(models) < min_models:
            continue
        means = [sum(v) / len(v) for v in models.values()]
        verdict = "suspect gold" if max(means) <= 0.0 else "too easy" if min(means) >= 100.0 else None
        if verdict is not None:
            out.append(SuspectItem(item_id=item, category=category, source=source, phases=sorted(phases[(item, category,
                                                                                                      source)]),
                                   verdict=verdict, models=len(models)))
    return out
