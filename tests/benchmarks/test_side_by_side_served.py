"""The mock's view: reading the probe's log, the full-load window and the rates in it.

The load shapes are built as exact schedules (c streams sharing one queue of jobs, each
job taking `d`), so the true full-load rate c/d is known and the assertions are exact up
to one request of discretisation, never a wall-clock figure.
"""

from __future__ import annotations

import heapq

import pytest
from sidebyside.served import (
    Served,
    matched_inflation_ms,
    mean_in_flight,
    mock_ttfts_ms,
    parse_served,
    plateau,
    served_span_rate,
)

T0 = 1_800_000_000.0
TTFT_S = 0.05


def shared_queue(concurrency: int, duration: float, jobs: int, stagger: float = 0.0) -> list[Served]:
    """c streams opened `stagger` apart, each taking the next job as soon as it is free."""
    free_at = [(T0 + s * stagger, s) for s in range(concurrency)]
    heapq.heapify(free_at)
    records = []
    for job in range(jobs):
        start, stream = heapq.heappop(free_at)
        records.append(Served(arrival=start, first=start + TTFT_S, end=start + duration, status="ok", chunks=66,
                              id=f"chatcmpl-{job}"))
        heapq.heappush(free_at, (start + duration, stream))
    return records


def bursts(concurrency: int, duration: float, count: int) -> list[Served]:
    """A tool that sends c at once and waits for all: half take d, half 2d, so each burst
    lasts 2d and the streams sit idle a quarter of the time."""
    records = []
    for k in range(count):
        start = T0 + k * 2 * duration
        for i in range(concurrency):
            took = duration if i % 2 == 0 else 2 * duration
            records.append(Served(arrival=start, first=start + TTFT_S, end=start + took, status="ok"))
    return records


def test_steady_closed_loop_is_counted_at_c_over_d_exactly() -> None:
    records = shared_queue(concurrency=16, duration=0.365, jobs=16 * 50)
    window = plateau(records, 16)
    assert window is not None
    assert window.served == 16 * 48  # the first and the last wave are the ramps
    assert window.rate == pytest.approx(16 / 0.365)
    assert window.mean_in_flight == pytest.approx(16.0)


def test_a_slow_ramp_up_is_left_out_of_the_plateau_but_not_out_of_the_overall_rate() -> None:
    # the streams open one every 0.5 s (a tool still starting its workers): 2.5 s of ramp
    records = shared_queue(concurrency=6, duration=0.365, jobs=150, stagger=0.5)
    window = plateau(records, 6)
    assert window is not None
    ideal = 6 / 0.365
    assert abs(window.rate - ideal) <= 1 / window.seconds  # one request of discretisation
    overall = served_span_rate(records)
    assert overall is not None and overall < 0.9 * ideal


def test_evenly_staggered_streams_still_give_c_over_d() -> None:
    records = shared_queue(concurrency=64, duration=0.365, jobs=64 * 30, stagger=0.365 / 64)
    window = plateau(records, 64)
    assert window is not None
    assert abs(window.rate - 64 / 0.365) <= 1 / window.seconds


def test_bursts_are_counted_at_the_rate_they_really_sustain() -> None:
    records = bursts(concurrency=8, duration=0.4, count=12)
    window = plateau(records, 8)
    assert window is not None
    assert window.rate == pytest.approx(8 / 0.8)  # half the c/d a closed loop would reach
    assert window.served == 8 * 10
    assert window.mean_in_flight == pytest.approx(0.75 * 8)


def test_a_run_too_short_for_a_plateau_has_none() -> None:
    assert plateau(shared_queue(concurrency=8, duration=0.4, jobs=8), 8) is None
    assert plateau(shared_queue(concurrency=8, duration=0.4, jobs=5), 8) is None
    assert plateau([], 1) is None


def test_aborted_requests_hold_streams_but_are_not_served() -> None:
    records = shared_queue(concurrency=2, duration=1.0, jobs=10)
    # the tool's deadline: the last two streams are cut off half way
    cut = [Served(arrival=r.arrival, first=r.first, end=r.arrival + 0.5, status="aborted", chunks=30)
           for r in records[-2:]]
    records = records[:-2] + cut
    window = plateau(records, 2)
    assert window is not None
    assert window.served == 6  # ends at 2, 3, 4 s (two streams each), after the c-th end at 1 s
    assert window.rate == pytest.approx(2.0)
    assert mock_ttfts_ms(records) == pytest.approx([TTFT_S * 1000] * 8)
    assert served_span_rate(records) == pytest.approx(8 / 4.5)


def test_mean_in_flight_counts_the_overlap_with_the_window() -> None:
    records = [Served(arrival=0.0, end=2.0, status="ok"), Served(arrival=1.0, end=5.0, status="aborted")]
    assert mean_in_flight(records, 1.0, 3.0) == pytest.approx((1.0 + 2.0) / 2.0)
    with pytest.raises(ValueError):
        mean_in_flight(records, 3.0, 3.0)


def test_parse_served_drops_only_a_torn_last_line() -> None:
    good = b'{"arrival": 1.0, "first": 1.05, "end": 1.4, "status": "ok", "chunks": 67}'
    records = parse_served([good, b"", good, b'{"arrival": 2.0, "fir'])
    assert len(records) == 2 and records[0].ttft_ms == pytest.approx(50.0)
    with pytest.raises(ValueError, match="line 2"):
        parse_served([good, b'{"arrival": 2.0, "fir', good])


def test_a_stream_that_never_sent_a_token_has_no_ttft() -> None:
    records = [Served(arrival=0.0, end=0.01, status="aborted"), Served(arrival=0.0, end=0.5, status="ok")]
    assert records[0].ttft_ms is None
    assert mock_ttfts_ms(records) == []


def test_a_tool_that_never_opens_c_streams_is_judged_at_the_most_it_opened() -> None:
    records = shared_queue(concurrency=5, duration=0.365, jobs=5 * 40)
    window = plateau(records, 8)  # asked for 8, the tool only ever had 5 open
    assert window is not None
    assert window.rate == pytest.approx(5 / 0.365)
    assert window.mean_in_flight == pytest.approx(5.0)


def test_inflation_is_matched_per_request_by_completion_id() -> None:
    records = shared_queue(concurrency=2, duration=0.4, jobs=6)
    records.append(Served(arrival=T0, end=T0 + 0.1, status="aborted", id="chatcmpl-cut"))
    mock_ms = TTFT_S * 1000
    tool = {"chatcmpl-0": mock_ms + 3.0, "chatcmpl-1": mock_ms + 5.0, "chatcmpl-cut": 1.0, "elsewhere": 9.0}
    # only served requests the tool also recorded; the aborted one and a stray id are left out
    assert matched_inflation_ms(records, tool) == pytest.approx([3.0, 5.0], abs=1e-3)
