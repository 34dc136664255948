"""MIN / DEFAULT / MAX model selection by cost-adjusted value, joined with what
fleetbench measured itself.

Rules, all stated so a pick can be checked by hand:
- public = weighted mean of the public benchmarks present (weights renormalised over them);
- overall = public, or (1 - measured_weight) x public + measured_weight x measured when
  fleetbench ranked the model (its mean 0-100 score in `rankings.json`);
- cost = mean of the input and output price per 1M tokens; value = overall / (cost + 0.01);
- availability = measured success rate (ok / (ok + error), `aggregate.json`); a model whose
  every call was skipped has no access and is left out; never measured = unknown,
  counted as 0.9 in `final` (a neutral prior, not a claim);
- final = criteria-weighted benchmark (overall/100), cost efficiency (value / best value),
  context (log2 window / log2 largest) and availability, divided by the weights' sum;
- MIN = best overall among free models; DEFAULT = best value with 0 < cost <= default cap;
  MAX = best overall with cost <= max cap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from calibration.benchmarks_data import BenchmarkEntry, BenchmarksFile
from calibration.schema import ModelValue, Pick, Rankings, Selection
from calibration.settings import SelectionSettings

UNKNOWN_AVAILABILITY = 0.9


@dataclass(frozen=True, slots=True)
class Measured:
    """What fleetbench saw of one model: mean score (n) and call outcomes."""

    score: float | None = None
    n: int = 0
    ok: int = 0
    error: int = 0
    skipped: int = 0


def public_score(entry: BenchmarkEntry, weights: Mapping[str, float]) -> float | None:
    scores = entry.normalised()
    present = {k: w for k, w in weights.items() if k in scores and w > 0}
    total = sum(present.values())
    return sum(scores[k] * w for k, w in present.items()) / total if total else None


def measured_by_model(rankings: Rankings | None, outcomes: Mapping[str, tuple[int, int, int]]) -> dict[str, Measured]:
    """fleetbench model name -> Measured, from rankings rows and (ok, error, skipped) counts."""
    names = set(outcomes) | ({r.model for r in rankings.overall} if rankings else set())
    rows = {r.model: r for r in rankings.overall} if rankings else {}
    out: dict[str, Measured] = {}
    for name in names:
        ok, error, skipped = outcomes.get(name, (0, 0, 0))
        row = rows.get(name)
        out[name] = Measured(score=row.mean if row else None, n=row.n if row else 0, ok=ok, error=error,
                             skipped=skipped)
    return out


def _join(entry: BenchmarkEntry, measured: Mapping[str, Measured]) -> Measured:
    """Pool every fleetbench name of this entry (its id and aliases)."""
    parts = [measured[n] for n in (entry.id, *entry.aliases) if n in measured]
    scored = [p for p in parts if p.score is not None and p.n]
    n = sum(p.n for p in scored)
    score = sum(p.score * p.n for p in scored if p.score is not None) / n if n else None
    return Measured(score=score, n=n, ok=sum(p.ok for p in parts), error=sum(p.error for p in parts),
                    skipped=sum(p.skipped for p in parts))


def value_table(data: BenchmarksFile, measured: Mapping[str, Measured], settings: SelectionSettings) -> list[ModelValue]:
    rows: list[ModelValue] = []
    for entry in data.models:
        public = public_score(entry, settings.benchmark_weights)
        seen = _join(entry, measured)
        note, eligible = "", True
        if public is None and seen.score is None:
            overall, eligible, note = 0.0, False, "no benchmark in the weights and never measured"
        elif public is None:
            overall = seen.score or 0.0
        elif seen.score is None:
            overall = public
        else:
            overall = (1 - settings.measured_weight) * public + settings.measured_weight * seen.score
        judged = seen.ok + seen.error
        availability = seen.ok / judged if judged else None
        if judged == 0 and seen.skipped:
            eligible, note = False, "no access: every measured call was skipped"
        cost = entry.cost_per_m
        rows.append(ModelValue(model=entry.id, overall=overall, cost_per_m=cost, value=overall / (cost + 0.01),
                               context_window=entry.context_window, availability=availability,
                               measured_score=seen.score, eligible=eligible, note=note))
    _finalise(rows, settings)
    return sorted(rows, key=lambda r: (-r.final, r.model))


def _finalise(rows: list[ModelValue], settings: SelectionSettings) -> None:
    cw = settings.criteria_weights
    best_value = max((r.value for r in rows if r.eligible), default=0.0) or 1.0
    widest = max((r.context_window or 1 for r in rows), default=2)
    total = sum(cw.values()) or 1.0
    for r in rows:
        context = math.log2(r.context_window) / math.log2(widest) if r.context_window and widest > 1 else 0.0
        availability = r.availability if r.availability is not None else UNKNOWN_AVAILABILITY
        r.final = (cw.get("benchmark", 0) * r.overall / 100 + cw.get("cost_efficiency", 0) * r.value / best_value
                   + cw.get("context", 0) * context + cw.get("availability", 0) * availability) / total


def pick_models(rows: list[ModelValue], *, default_cap: float, max_cap: float) -> list[Pick]:
    eligible = [r for r in rows if r.eligible]

    def best(pool: list[ModelValue], key: str) -> ModelValue | None:
        return max(pool, key=lambda r: (getattr(r, key), r.final, r.model), default=None)

    free = best([r for r in eligible if r.cost_per_m == 0], "overall")
    default = best([r for r in eligible if 0 < r.cost_per_m <= default_cap], "value")
    top = best([r for r in eligible if r.cost_per_m <= max_cap], "overall")
    return [
        Pick(slot="MIN", model=free.model if free else None,
             reason=f"best overall among free models: {free.overall:.1f}" if free else "no eligible free model"),
        Pick(slot="DEFAULT", model=default.model if default else None,
             reason=(f"best value {default.value:.1f} (overall {default.overall:.1f} / (${default.cost_per_m:.3f}/M"
                     f" + 0.01)) under ${default_cap:.2f}/M") if default
             else f"no eligible paid model under ${default_cap:.2f}/M"),
        Pick(slot="MAX", model=top.model if top else None,
             reason=(f"best overall {top.overall:.1f} at ${top.cost_per_m:.3f}/M, under ${max_cap:.2f}/M")
             if top else f"no eligible model under ${max_cap:.2f}/M"),
    ]


def select(data: BenchmarksFile, measured: Mapping[str, Measured], settings: SelectionSettings, *,
           benchmarks_file: str, now: str, default_cap: float | None = None,
           max_cap: float | None = None) -> Selection:
    caps = {"default": default_cap if default_cap is not None else settings.default_cap_per_m,
            "max": max_cap if max_cap is not None else settings.max_cap_per_m}
    rows = value_table(data, measured, settings)
    return Selection(generated_at=now, benchmarks_file=benchmarks_file,
                     weights={**{f"benchmark.{k}": v for k, v in settings.benchmark_weights.items()},
                              **{f"criteria.{k}": v for k, v in settings.criteria_weights.items()},
                              "measured_weight": settings.measured_weight},
                     caps=caps, picks=pick_models(rows, default_cap=caps["default"], max_cap=caps["max"]),
                     table=rows)
