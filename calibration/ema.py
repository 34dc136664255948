"""Routing weights per (model, category), moved by an exponential moving average.

Why an EMA with a threshold (seed 001): one bad week must not flip routing, so a weight
moves only `learning_rate` of the way towards the new evidence, and the move is applied
only when it changes the weight by more than `threshold` (relative); smaller moves are
still logged (applied = false) so a reader sees the evidence that did not count. Why
`seen_runs`: calibrate runs after every run and on demand; evidence must count once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from calibration.schema import RoutingWeights, WeightChange, WeightsVersion


def ema_step(old: float, observed: float, learning_rate: float) -> float:
    """One EMA step: move `learning_rate` of the way from `old` towards `observed`."""
    return old + learning_rate * (observed - old)


def passes_threshold(old: float, new: float, threshold: float) -> bool:
    """Relative change strictly above `threshold`; from 0, any change counts.

    The 1e-12 slack keeps "exactly 10%" (0.5 -> 0.55, which float arithmetic computes as
    0.1000000000000001) on the not-applied side, as the seed's ">10%" says."""
    if old == 0:
        return new != 0
    return abs(new - old) / abs(old) > threshold + 1e-12


def update_weights(current: RoutingWeights, observed: Mapping[tuple[str, str], float], *,
                   runs: Sequence[str], learning_rate: float, threshold: float,
                   now: str) -> tuple[RoutingWeights, list[WeightChange]]:
    """New weights from `observed` (mean score / 100 per (model, category) in `runs`).

    A first observation sets the weight outright (there is nothing to smooth). Observations
    are clipped to [0, 1]. Returns the new state and every change considered: the version is
    bumped, and a WeightsVersion with all the changes (applied or not) appended to the
    history, only when something was applied; `runs` join `seen_runs` either way, because
    evidence under the threshold was still weighed and must not be weighed again."""
    weights = {model: dict(per) for model, per in current.weights.items()}
    changes: list[WeightChange] = []
    for (model, category), value in sorted(observed.items()):
        value = min(max(value, 0.0), 1.0)
        old = weights.get(model, {}).get(category)
        if old is None:
            changes.append(WeightChange(model=model, category=category, old=None, new=value, observed=value,
                                        applied=True))
            weights.setdefault(model, {})[category] = value
            continue
        new = ema_step(old, value, learning_rate)
        applied = passes_threshold(old, new, threshold)
        changes.append(WeightChange(model=model, category=category, old=old, new=new, observed=value,
                                    applied=applied))
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
