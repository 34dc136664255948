"""Saturation and client-bound rules on synthetic steps and records (no network)."""

from __future__ import annotations

from agents.client_health import client_health, schedule_lags
from agents.phase_agent import PhaseReport
from agents.rate_sweep import SweepStep, measure_step, render_sweep, saturation_reason
from harness.records import CallRecord


def step(offered: float, achieved: float, ttft: float, *, errors: int = 0, bound: bool = False) -> SweepStep:
    return SweepStep(run_id="r", offered=offered, achieved=achieved, calls=100, errors=errors,
                     ttft_p50_from_schedule_ms=ttft, e2e_p95_from_schedule_ms=ttft * 2, schedule_lag_p95_ms=1.0,
                     client_bound=bound)


def test_saturation_rules() -> None:
    first = step(1, 1, 50)
    assert saturation_reason(first, first) is None
    assert saturation_reason(step(8, 7.5, 60), first) is None
    assert "achieved 5.0/s of 8/s" in (saturation_reason(step(8, 5, 60), first) or "")
    assert "over 2x" in (saturation_reason(step(8, 8, 120), first) or "")
    assert "6/100 calls failed" in (saturation_reason(step(8, 8, 60, errors=6), first) or "")


def test_the_verdict_names_the_first_saturated_step_and_whose_bottleneck() -> None:
    text = render_sweep([step(1, 1, 50), step(2, 2, 55), step(4, 2.5, 400), step(8, 2.4, 900)])
    assert text.endswith("Sweep: saturates at 4/s (achieved 2.5/s of 4/s offered); the bottleneck is the endpoint.")
    ours = render_sweep([step(1, 1, 50), step(2, 1.2, 55, bound=True)])
    assert "the bottleneck is the client (our own queueing), not the endpoint" in ours
    assert render_sweep([step(1, 1, 50)]).endswith("did not saturate within the rates tried.")


def test_measure_step_counts_from_the_schedule() -> None:
    records = [CallRecord(run_id="r", phase="baseline", item_id=f"i{i}", model="m", status="ok", started_at=100.0 + i,
                          ttft_ms=10.0, e2e_ms=1000.0, schedule_lag_ms=5.0) for i in range(5)]
    measured = measure_step("r", 1.0, records, client_bound=False)
    assert measured.ttft_p50_from_schedule_ms == 15.0
    assert abs(measured.achieved - 5 / (104 + 1.005 - 100)) < 1e-9


def test_client_bound_by_late_calls_or_a_stalled_loop_but_not_by_limiter_waits() -> None:
    records = [CallRecord(run_id="r", phase="p", item_id="a", model="m", status="ok", schedule_lag_ms=500.0)]
    waits_only = client_health(schedule_lags(records), [PhaseReport(phase="p", worker="w", loop_lag_p95_ms=1.0,
                                                     dispatch_lag_p95_ms=0.5)])
    assert waits_only["p"]["client_bound"] is False  # 500 ms of limiter waits are the endpoint's
    late = client_health(schedule_lags(records), [PhaseReport(phase="p", worker="w", loop_lag_p95_ms=1.0, dispatch_lag_p95_ms=9.0)])
    assert late["p"]["client_bound"] is True and "began late" in late["p"]["reasons"][0]
    stalled = client_health({}, [PhaseReport(phase="p", worker="w", loop_lag_p95_ms=12.0, loop_lag_max_ms=40.0)])
    assert stalled["p"]["client_bound"] is True and "stalled" in stalled["p"]["reasons"][0]
