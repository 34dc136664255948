"""Was the client itself the bottleneck? Stated per phase, with the rule that decided it.

Why: a load tester that saturates its own event loop reports its queueing as the
server's latency. Each phase reports how late its event loop woke (every subagent
samples it) and, in open-loop runs, how late calls began against their schedule; past a
stated bound the phase is flagged client-bound, so its latencies are read as an upper
bound on the server's, never as the server's own. Waits for the provider's limiter are
not the client's lateness: they are the endpoint's capacity (its limits), and they show
in latency from the schedule instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from harness.timing import percentile

SCHEDULE_LAG_P95_MS = 5.0
LOOP_LAG_P95_MS = 5.0


class LagView(Protocol):
    """What `schedule_lags` reads of a record (a `CallRecord` has both)."""

    @property
    def phase(self) -> str: ...
    @property
    def schedule_lag_ms(self) -> float | None: ...


def schedule_lags(records: Iterable[LagView]) -> dict[str, list[float]]:
    """Phase -> its calls' schedule lags (every phase with a record has a key): what
    `client_health` reads of the records."""
    lags: dict[str, list[float]] = {}
    for r in records:
        mine = lags.setdefault(r.phase, [])
        if r.schedule_lag_ms is not None:
            mine.append(r.schedule_lag_ms)
    return lags


def client_health(lags_by_phase: Mapping[str, Sequence[float]], reports: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """Per phase: loop lag (p95 and worst over its workers), schedule lag p95, the verdict.
    `lags_by_phase` is `schedule_lags(records)`: the lags alone, so a run's summary never
    holds its records for this."""
    phases = sorted(set(lags_by_phase) | {getattr(rep, "phase", "") for rep in reports} - {""})
    out: dict[str, dict[str, Any]] = {}
    for phase in phases:
        mine = [rep for rep in reports if getattr(rep, "phase", None) == phase]
        loop_p95 = max((rep.loop_lag_p95_ms for rep in mine if rep.loop_lag_p95_ms is not None), default=None)
        loop_max = max((rep.loop_lag_max_ms for rep in mine if rep.loop_lag_max_ms is not None), default=None)
        lags = list(lags_by_phase.get(phase, ()))
        sched_p95 = percentile(lags, 95)
        dispatch_p95 = max((rep.dispatch_lag_p95_ms for rep in mine if rep.dispatch_lag_p95_ms is not None),
                           default=None)
        reasons = []
        if dispatch_p95 is not None and dispatch_p95 > SCHEDULE_LAG_P95_MS:
            reasons.append(f"calls began late against their schedule (p95 {dispatch_p95:.1f} ms > "
                           f"{SCHEDULE_LAG_P95_MS:g} ms)")
        if loop_p95 is not None and loop_p95 > LOOP_LAG_P95_MS:
            reasons.append(f"the event loop stalled (lag p95 {loop_p95:.1f} ms > {LOOP_LAG_P95_MS:g} ms)")
        if loop_p95 is None and sched_p95 is None:
            continue
        out[phase] = {"loop_lag_p95_ms": loop_p95, "loop_lag_max_ms": loop_max, "schedule_lag_p95_ms": sched_p95,
                      "dispatch_lag_p95_ms": dispatch_p95, "open_loop": bool(lags),
                      "client_bound": bool(reasons), "reasons": reasons}
    return out


def health_section(health: dict[str, dict[str, Any]]) -> str:
    rows = ["## Client health", "",
            (f"A phase is client-bound when its calls begin late against their schedule (p95 > "
            f"{SCHEDULE_LAG_P95_MS:g} ms) or its event loop stalls (wake-up lag p95 > {LOOP_LAG_P95_MS:g} ms); its "
            "latencies then include our own queueing. Send lag also counts waits for the provider's limits."), "",
            "| phase | loop lag p95 ms | loop lag max ms | call start lag p95 ms | send lag p95 ms | verdict |",
            "|---|---:|---:|---:|---:|---|"]

    def ms(v: float | None) -> str:
        return "–" if v is None else f"{v:.1f}"

    for phase, h in sorted(health.items()):
        verdict = "client-bound: " + "; ".join(h["reasons"]) if h["client_bound"] else "ok"
        rows.append(f"| {phase} | {ms(h['loop_lag_p95_ms'])} | {ms(h['loop_lag_max_ms'])} "
                    f"| {ms(h['dispatch_lag_p95_ms'])} | {ms(h['schedule_lag_p95_ms'])} | {verdict} |")
    return "\n".join(rows)
