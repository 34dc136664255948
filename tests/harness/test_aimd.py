"""Adaptive concurrency at its default settings: slow start, x0.8 once per round on 429s,
growth per clean round back to the cap, and a hidden ceiling found with few 429s."""

from __future__ import annotations

from harness.aimd import AdaptiveConcurrency, AdaptiveSettings


def test_defaults() -> None:
    s = AdaptiveSettings()
    assert (s.enabled, s.floor, s.initial, s.decrease, s.increase, s.clean_rounds) == (True, 1, 4, 0.8, 0.05, 2)


def test_slow_start_doubles_while_the_cap_binds_and_stops_at_the_configured_cap() -> None:
    free = AdaptiveConcurrency(AdaptiveSettings(), configured=None)
    assert free.limit() == 4
    free.on_completed(0.0, 4, demand=100)
    assert free.limit() == 8
    free.on_completed(1.0, 8, demand=100)
    assert free.limit() == 16
    free.on_completed(2.0, 16, demand=10)  # the cap no longer binds: nothing learned
    assert free.limit() == 16
    capped = AdaptiveConcurrency(AdaptiveSettings(), configured=20)
    assert capped.limit() == 20  # a configured cap is where it starts
    capped.on_completed(0.0, 100, demand=100)
    assert capped.limit() == 20


def test_a_burst_of_429s_shrinks_once_per_round_and_never_below_the_floor() -> None:
    aimd = AdaptiveConcurrency(AdaptiveSettings(), configured=10)
    aimd.on_rate_limited(0.0, 3, in_flight=10)
    assert aimd.limit() == 8
    aimd.on_rate_limited(0.1, 5, in_flight=8)  # same overload, same round: no second cut
    assert aimd.limit() == 8
    aimd.on_completed(0.2, 8, demand=10)  # the round after the cut passes (cooldown)
    aimd.on_rate_limited(0.3, 1, in_flight=8)
    assert aimd.limit() == 6
    floor = AdaptiveConcurrency(AdaptiveSettings(floor=2), configured=2)
    for t in range(10):
        floor.on_rate_limited(float(t), 1, in_flight=2)
        floor.on_completed(float(t), 5, demand=5)
    assert floor.limit() == 2
    assert [c.reason for c in aimd.state.history][:1] == ["rate limited (3)"]


def test_clean_rounds_grow_the_cap_back_in_small_steps() -> None:
    aimd = AdaptiveConcurrency(AdaptiveSettings(), configured=10)
    aimd.on_rate_limited(0.0, 1, in_flight=10)
    assert aimd.limit() == 8
    aimd.on_completed(0.1, 8, demand=20)  # cooldown round
    aimd.on_completed(0.2, 8, demand=20)  # clean round 1 of 2
    assert aimd.state.cap == 8.0
    aimd.on_completed(0.3, 8, demand=20)  # clean round 2: x1.05
    assert aimd.state.cap == 8.4 and aimd.limit() == 8
    for t in range(2):
        aimd.on_completed(1.0 + t, 16, demand=20)  # four more clean rounds: two steps
    assert aimd.limit() == 9  # one call higher after a few more clean rounds
    for t in range(40):
        aimd.on_completed(10.0 + t, 20, demand=20)
    assert aimd.limit() == 10 and aimd.state.cap == 10.0


def test_low_remaining_headers_hold_growth() -> None:
    aimd = AdaptiveConcurrency(AdaptiveSettings(), configured=None)
    aimd.on_completed(0.0, 40, demand=100, low_remaining=True)
    assert aimd.limit() == 4


def test_disabled_means_the_configured_cap_only() -> None:
    off = AdaptiveConcurrency(AdaptiveSettings(enabled=False), configured=6)
    off.on_rate_limited(0.0, 5, in_flight=6)
    assert off.limit() == 6
    assert AdaptiveConcurrency(AdaptiveSettings(enabled=False), configured=None).limit() is None


def test_a_hidden_ceiling_is_found_with_few_429s() -> None:
    """A server that refuses whatever runs above 5 at once: round after round the cap
    settles near 5 while only a small share of calls is refused."""
    ceiling = 5
    aimd = AdaptiveConcurrency(AdaptiveSettings(), configured=None)
    refused = calls = 0
    limits: list[int] = []
    for t in range(200):
        limit = aimd.limit() or 1
        limits.append(limit)
        over = max(0, limit - ceiling)
        calls += limit
        refused += over
        if over:
            aimd.on_rate_limited(float(t), over, in_flight=limit)
        aimd.on_completed(float(t), limit - over, demand=64)
    assert refused / calls < 0.05
    assert all(3 <= lim <= 6 for lim in limits[20:])
