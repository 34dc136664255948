"""Failure rates per model, reported apart from answer quality.

Why apart: a failed call gave no answer, so it cannot lower a quality mean without mixing
two questions ("how good are its answers?" and "how often does it answer?"). The
provider's failures (rate limits exhausted, 5xx after retries, context overflow, a broken
stream) are the model's availability and get a rate with its interval; ours (a lost
subagent, a limiter or client bug, no key: `harness.errors.OUR_FAULTS`) are counted so
they are seen, and never rated against the model.

Why per item: an item that overflows a model's context fails on every repeat; its repeats
are one unit, as for quality, so the rate is the mean over items of each item's share of
failed calls.
"""

from __future__ import annotations

from collections.abc import Mapping

from calibration.evidence import CallCell, CallKey
from calibration.schema import FailureRow
from harness.intervals import CONFIDENCE, bounded_mean


def _merge(into: dict[str, int], more: Mapping[str, int]) -> None:
    for name, n in more.items():
        into[name] = into.get(name, 0) + n


def failure_rows(calls: Mapping[CallKey, CallCell], confidence: float = CONFIDENCE) -> list[FailureRow]:
    """One row per model with any call, by model name."""
    rows: dict[str, FailureRow] = {}
    shares: dict[str, list[float]] = {}
    for (model, _, _), cell in sorted(calls.items()):
        row = rows.setdefault(model, FailureRow(model=model))
        row.ok += cell.ok
        row.provider_errors += cell.provider
        row.our_errors += cell.ours
        row.skipped += cell.skipped
        row.calls += cell.ok + cell.provider + cell.ours + cell.skipped
        _merge(row.provider_classes, cell.provider_classes)
        _merge(row.our_classes, cell.our_classes)
        judged = cell.ok + cell.provider
        if judged:
            shares.setdefault(model, []).append(cell.provider / judged)
    for model, row in rows.items():
        interval = bounded_mean(shares.get(model, []), confidence=confidence)
        row.items, row.rate, row.ci_low, row.ci_high = interval.n, interval.point, interval.lo, interval.hi
        row.provider_classes = dict(sorted(row.provider_classes.items(), key=lambda kv: (-kv[1], kv[0])))
        row.our_classes = dict(sorted(row.our_classes.items(), key=lambda kv: (-kv[1], kv[0])))
    return [rows[m] for m in sorted(rows)]
