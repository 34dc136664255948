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
    """`units`: (model, source, phase, item, category) -> [total, n] of 0-100 scores."""
    means: dict[tuple[str, str, str, str], list[float]] = {}
    for (_, source, phase, item, category), (total, n) in sorted(units.items()):
        if n > 0:
            means.setdefault((phase, item, category, source), []).append(total / n)
    out: list[SuspectItem] = []
    for (phase, item, category, source), values in sorted(means.items()):
        if len(values) < min_models:
            continue
        verdict = "suspect gold" if max(values) <= 0.0 else "too easy" if min(values) >= 100.0 else None
        if verdict is not None:
            out.append(SuspectItem(phase=phase, item_id=item, category=category, source=source, verdict=verdict,
                                   models=len(values)))
    return out
