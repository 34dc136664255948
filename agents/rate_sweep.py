"""An open-loop rate sweep: offer more and more calls per second until the endpoint
saturates, and name the rate where it did.

Why these rules: an endpoint is saturated when it no longer keeps up with what is offered
(achieved below 90 % of offered), when latency measured from the schedule runs away
(median TTFT from schedule above twice the lightest step's), or when it starts refusing
(more than 5 % errors). A step whose client was itself the bottleneck (see
agents/client_health.py) is named as such: its saturation is ours, not the endpoint's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.errors import InputError
from harness.records import CallRecord
from harness.timing import percentile

KEEP_UP = 0.9
LATENCY_BLOWUP = 2.0
ERROR_SHARE = 0.05


@dataclass(frozen=True)
class SweepStep:
    run_id: str
    offered: float
    achieved: float
    calls: int
    errors: int
    ttft_p50_from_schedule_ms: float | None
    e2e_p95_from_schedule_ms: float | None
    schedule_lag_p95_ms: float | None
    client_bound: bool


def measure_step(run_id: str, offered: float, records: Sequence[CallRecord], client_bound: bool) -> SweepStep:
    """Achieved rate = ok calls over the span from the first start to the last end."""
    ok = [r for r in records if r.status == "ok"]
    starts = [r.started_at for r in records if r.started_at is not None]
    ends = [r.started_at + ((r.schedule_lag_ms or 0.0) + (r.e2e_ms or 0.0)) / 1e3
            for r in ok if r.started_at is not None]
    span = (max(ends) - min(starts)) if starts and ends else 0.0
    lag = [r.schedule_lag_ms for r in records if r.schedule_lag_ms is not None]
    ttft = [r.ttft_ms + (r.schedule_lag_ms or 0.0) for r in ok if r.ttft_ms is not None]
    e2e = [r.e2e_ms + (r.schedule_lag_ms or 0.0) for r in ok if r.e2e_ms is not None]
    return SweepStep(run_id=run_id, offered=offered, achieved=len(ok) / span if span > 0 else 0.0,
                     calls=len(records), errors=len(records) - len(ok),
                     ttft_p50_from_schedule_ms=percentile(ttft, 50), e2e_p95_from_schedule_ms=percentile(e2e, 95),
                     schedule_lag_p95_ms=percentile(lag, 95), client_bound=client_bound)


def saturation_reason(step: SweepStep, first: SweepStep) -> str | None:
    """Why this step counts as saturated, or None."""
    if step.calls and step.errors / step.calls > ERROR_SHARE:
        return f"{step.errors}/{step.calls} calls failed"
    if step.achieved < KEEP_UP * step.offered:
        return f"achieved {step.achieved:.1f}/s of {step.offered:g}/s offered"
    base = first.ttft_p50_from_schedule_ms
    now = step.ttft_p50_from_schedule_ms
    if step is not first and base and now and now > LATENCY_BLOWUP * base:
        return f"TTFT p50 from schedule {now:.0f} ms, over {LATENCY_BLOWUP:g}x the lightest step's {base:.0f} ms"
    return None


def render_sweep(steps: Sequence[SweepStep]) -> str:
    """The sweep table, then one line naming where (and whether, and by whom) it saturated."""
    lines = [("| offered /s | achieved /s | calls | errors | TTFT p50 from schedule ms | E2E p95 from schedule ms "
             "| send lag p95 ms | note |"), "|---:|---:|---:|---:|---:|---:|---:|---|"]

    def ms(v: float | None) -> str:
        return "–" if v is None else f"{v:.1f}"

    verdict = "did not saturate within the rates tried"
    for step in steps:
        reason = saturation_reason(step, steps[0])
        note = "; ".join(part for part in ("client-bound" if step.client_bound else "", reason or "") if part)
        lines.append(f"| {step.offered:g} | {step.achieved:.1f} | {step.calls} | {step.errors} "
                     f"| {ms(step.ttft_p50_from_schedule_ms)} | {ms(step.e2e_p95_from_schedule_ms)} "
                     f"| {ms(step.schedule_lag_p95_ms)} | {note or 'keeps up'} |")
        if reason and verdict.startswith("did not"):
            who = "the client (our own queueing), not the endpoint" if step.client_bound else "the endpoint"
            verdict = f"saturates at {step.offered:g}/s ({reason}); the bottleneck is {who}"
    return "\n".join(lines) + f"\n\nSweep: {verdict}."


AUTO_RATES = [2.0 ** k for k in range(11)]  # 1 .. 1024 calls/s


def parse_rates(text: str) -> list[float]:
    """`auto` (1, 2, 4 ... 1024/s) or a comma list of increasing positive rates."""
    if text.strip() == "auto":
        return list(AUTO_RATES)
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError("--rate-sweep", f"expected auto or rates like 1,2,4,8, not {text!r}") from None
    if not rates or any(r <= 0 for r in rates) or rates != sorted(rates):
        raise InputError("--rate-sweep", f"rates must be positive and increasing, not {text!r}")
    return rates
