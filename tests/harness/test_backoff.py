"""Backoff: full jitter within the exponential cap, never below the server's ask."""

from __future__ import annotations

import random

import pytest

from harness.retry import RetryPolicy, backoff_delay_s

POLICY = RetryPolicy(base_delay_s=0.5, max_delay_s=8.0)


@pytest.mark.parametrize("seed", range(200))
def test_never_below_server_wait(seed: int) -> None:
    rng = random.Random(seed)
    for attempt in range(1, 8):
        for wait in (0.0, 0.3, 1.0, 5.0):
            assert backoff_delay_s(POLICY, attempt, wait, rng) >= wait


def test_long_server_wait_is_not_capped() -> None:
    rng = random.Random(1)
    assert backoff_delay_s(POLICY, 1, 300.0, rng) == 300.0  # far above max_delay_s


def test_full_jitter_range_and_spread() -> None:
    rng = random.Random(7)
    for attempt, cap in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0)]:
        delays = [backoff_delay_s(POLICY, attempt, None, rng) for _ in range(2000)]
        assert all(0.0 <= d <= cap for d in delays)
        # full jitter: uses the whole range, not just the top
        assert min(delays) < 0.1 * cap and max(delays) > 0.9 * cap


def test_exponential_growth_is_capped_by_max_delay() -> None:
    rng = random.Random(3)
    delays = [backoff_delay_s(POLICY, 50, None, rng) for _ in range(2000)]
    assert max(delays) <= POLICY.max_delay_s
    assert max(delays) > 0.9 * POLICY.max_delay_s
    assert backoff_delay_s(POLICY, 10_000, None, rng) <= POLICY.max_delay_s  # no overflow


def test_deterministic_for_a_seed() -> None:
    a = [backoff_delay_s(POLICY, i, None, random.Random(5)) for i in range(1, 6)]
    b = [backoff_delay_s(POLICY, i, None, random.Random(5)) for i in range(1, 6)]
    assert a == b
