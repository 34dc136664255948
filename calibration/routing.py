"""The switch rules as one routing decision that names the rule that fired.

Precedence, stated: a rate limit comes first (the DEFAULT model cannot be called now, so
even critical work falls back to MIN rather than wait); then the upgrades (critical work,
complex coding, an explicit request for the best, a previous answer scored under the
threshold) go to MAX; then the downgrades (high cost concerns, simple work, prototyping)
go to MIN; otherwise DEFAULT. A slot with no eligible model falls back to DEFAULT.
"""

from __future__ import annotations

from dataclasses import dataclass

from calibration.schema import Selection


@dataclass(frozen=True, slots=True)
class RouteRequest:
    importance: str = "normal"  # normal | critical
    complexity: str = "medium"  # simple | medium | complex
    task_type: str = ""
    previous_score: float | None = None  # 0-100
    rate_limited: bool = False
    cost_concerns: str = "low"  # low | high
    best: bool = False
    prototyping: bool = False


@dataclass(frozen=True, slots=True)
class RouteDecision:
    slot: str
    model: str | None
    reason: str


def _rule(req: RouteRequest, low_score: float) -> tuple[str, str]:
    if req.rate_limited:
        return "MIN", "downgrade: rate limit hit on the default model"
    coding = "cod" in req.task_type.lower()
    if req.importance == "critical":
        return "MAX", "upgrade: critical task"
    if req.complexity == "complex" and coding:
        return "MAX", "upgrade: complex coding task"
    if req.best:
        return "MAX", "upgrade: the best model was asked for"
    if req.previous_score is not None and req.previous_score < low_score:
        return "MAX", f"upgrade: previous answer scored {req.previous_score:g} < {low_score:g}"
    if req.cost_concerns == "high":
        return "MIN", "downgrade: high cost concerns"
    if req.complexity == "simple":
        return "MIN", "downgrade: simple task"
    if req.prototyping:
        return "MIN", "downgrade: testing or prototyping"
    return "DEFAULT", "no switch rule applies: the daily driver"


def route(selection: Selection, req: RouteRequest, *, low_score: float) -> RouteDecision:
    slot, reason = _rule(req, low_score)
    picks = {p.slot: p for p in selection.picks}
    chosen = picks.get(slot)
    if chosen is None or chosen.model is None:
        fallback = picks.get("DEFAULT")
        model = fallback.model if fallback else None
        return RouteDecision("DEFAULT", model, f"{reason}, but {slot} has no eligible model: using DEFAULT")
    return RouteDecision(slot, chosen.model, reason)
