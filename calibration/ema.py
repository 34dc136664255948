"""Routing weights per (model, category), moved by an exponential moving average.

Why this threshold (the calibration workflow's "update weights if >10% change observed"):
the *observation* is compared with the current weight. When the observed score differs
from the weight by more than `threshold` (relative to the weight), the weight moves
`learning_rate` of the way towards it; otherwise it stays, and the change is still logged
(applied = false) so a reader sees the evidence that did not count. So weights go up and
down, and a weight of 0.9 that is observed at 0.5 falls (to 0.86 at the defaults).
Applying the threshold to the EMA step instead (|lr x (observed - old)| > threshold x old)
would, at lr 0.1 and 10 %, need |observed - old| > old: no weight could ever fall, and
none at or above 0.5 could move.

Why `seen_runs`: calibrate runs after every run and on demand; evidence must count once.
The file format is unchanged, so weights written under the earlier rule are read as they
are and move by this one from then on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from calibration.schema import RoutingWeights, WeightChange, WeightsVersion


def ema_step(old: float, observed: float, learning_rate: float) -> float:
    """One EMA step: move `learning_rate` of the way from `old` towards `observed`."""
    return old + learning_rate * (observed - old)


def passes_threshold(old: float, observed: float, threshold: float) -> bool:
    """The observed score differs from the current weight by strictly more than `threshold`,
    relative to the weight; from a weight of 0, any difference counts.

    The 1e-12 slack keeps "exactly 10%" (0.5 observed at 0.55, which float arithmetic
    computes as 0.1000000000000001) on the not-applied side, as ">10%" says."""
    if old == 0:
        return observed != 0
    return abs(observed - old) / abs(old) > threshold + 1e-12


def update_weights(current: RoutingWeights, observed: Mapping[tuple[str, str], float], *,
                   runs: Sequence[str], learning_rate: float, threshold: float,
                   now: str, items: Mapping[tuple[str, str], int] | None = None
                   ) -> tuple[RoutingWeights, list[WeightChange]]:
    """New weights from `observed` (mean score / 100 per (model, category) in `runs`, over
    `items` items each; `now` is the evidence's own time, not the clock's).

    A first observation sets the weight outright (there is nothing to smooth). Observations
    are clipped to [0, 1]. Returns the new state and every change considered: the version is
    bumped, and a WeightsVersion with all the changes (applied or not) appended to the
    history, only when something was applied; `runs` join `seen_runs` either way, because
    evidence under the threshold was still weighed and must not be weighed again."""
    weights = {model: dict(per) for model, per in current.weights.items()}
    changes: list[WeightChange] = []
    for (model, category), value in sorted(observed.items()):
        value = min(max(value, 0.0), 1.0)
        n = (items or {}).get((model, category), 0)
        old = weights.get(model, {}).get(category)
        if old is None:
            changes.append(WeightChange(model=model, category=category, old=None, new=value, observed=value,
                                        applied=True, n=n))
            weights.setdefault(model, {})[category] = value
            continue
        new = ema_step(old, value, learning_rate)
        applied = passes_threshold(old, value, threshold)
        changes.append(WeightChange(model=model, category=category, old=old, new=new, observed=value,
                                    applied=applied, n=n))
        if applied:
            weights[model][category] = new
    if not runs and not changes:
        return current, changes  # no new evidence: not even the parameters are touched
    seen = sorted(set(current.seen_runs) | set(runs))
    if not any(c.applied for c in changes):
        return msgspec.structs.replace(current, seen_runs=seen, learning_rate=learning_rate,
                                       threshold=threshold), changes
    version = current.version + 1
    history = [*current.history, WeightsVersion(version=version, updated_at=now, runs=sorted(runs),
                                                changes=changes)]
    return RoutingWeights(version=version, updated_at=now, learning_rate=learning_rate, threshold=threshold,
                          weights=weights, seen_runs=seen, history=history), changes
