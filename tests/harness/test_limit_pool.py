"""The limit pool's rules, driven directly with a fake clock: shares that never overlap,
credits that keep any window exact, reclaim by TTL, several runs on one pool, restarts."""

from __future__ import annotations

import random

import pytest

from harness.aimd import AdaptiveSettings
from harness.credit_windows import fair_shares
from harness.limit_contract import ProviderLimits
from harness.limit_pool import LimitPool
from harness.pool_state import ClientReport, Returned, decode_state, encode_state

FIXED = AdaptiveSettings(enabled=False)


def report(client: str, limits: ProviderLimits, **fields: object) -> ClientReport:
    return ClientReport(client=client, run=str(fields.pop("run", "r1")), limits=limits, **fields)  # type: ignore[arg-type]


def test_fair_shares_water_fill_and_are_deterministic() -> None:
    assert fair_shares(10, {"a": 8, "b": 8}) == {"a": 5, "b": 5}
    assert fair_shares(10, {"a": 2, "b": 20}) == {"a": 2, "b": 8}
    assert fair_shares(3, {"a": 5, "b": 5, "c": 5}) == {"a": 1, "b": 1, "c": 1}
    assert fair_shares(2, {"b": 5, "a": 5, "c": 5}) == {"a": 1, "b": 1, "c": 0}
    assert fair_shares(4, {"a": 0, "b": 1}) == {"a": 0, "b": 1}


def test_shares_never_overlap_while_a_client_shrinks() -> None:
    limits = ProviderLimits(max_concurrent=10, adaptive=FIXED)
    pool = LimitPool(default=limits)
    a = pool.sync(report("a", limits, waiting=10), 0.0)
    assert a.allocation == 10
    # b arrives: a must shrink to 5, but b gets nothing until a says it is back under 5
    b = pool.sync(report("b", limits, waiting=10), 0.1)
    assert b.allocation == 0
    a2 = pool.sync(report("a", limits, in_flight=10, allocation_ack=10), 0.2)
    assert a2.allocation == 5
    assert pool.sync(report("b", limits, waiting=10, allocation_ack=0), 0.3).allocation == 0
    # a acks the new share while 7 of its calls still run: only 3 can go to b
    pool.sync(report("a", limits, in_flight=7, allocation_ack=5), 0.4)
    assert pool.sync(report("b", limits, waiting=10, allocation_ack=0), 0.5).allocation == 3
    pool.sync(report("a", limits, in_flight=5, allocation_ack=5), 0.6)
    assert pool.sync(report("b", limits, waiting=10, allocation_ack=3), 0.7).allocation == 5
    assert pool.stats(0.7)["held"] == 10


def test_a_silent_client_loses_its_share_after_the_ttl_and_release_is_immediate() -> None:
    limits = ProviderLimits(max_concurrent=4, lease_ttl_s=10, adaptive=FIXED)
    pool = LimitPool(default=limits)
    assert pool.sync(report("dead", limits, waiting=4), 0.0).allocation == 4
    assert pool.sync(report("alive", limits, waiting=4), 5.0).allocation == 0
    assert pool.sync(report("alive", limits, waiting=4, allocation_ack=0), 10.5).allocation == 4
    assert pool.stats(10.5)["reclaimed_clients"] == 1
    # the dead one comes back: it is told it was dropped, and gets nothing while alive holds all
    back = pool.sync(report("dead", limits, waiting=1, allocation_ack=4), 11.0)
    assert back.known is False and back.allocation == 0
    assert pool.release_client("alive")
    assert pool.sync(report("dead", limits, waiting=1, allocation_ack=0), 11.1).allocation == 1


def _spend_all(pool: LimitPool, limits: ProviderLimits, client: str, now: float, want: int) -> int:
    grant = pool.sync(report(client, limits, want_requests=want, in_flight=1), now)
    return sum(b.requests for b in grant.batches)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("margin", [0.0, 0.25])
def test_credits_keep_any_window_exact_across_clients(margin: float, seed: int) -> None:
    """Credits spent anywhere in their validity, stamped by the server anywhere up to the
    margin later, never put more than N arrivals in any window."""
    rng = random.Random(seed)
    limits = ProviderLimits(requests_per_window=5, window_s=1.0, safety_margin_s=margin, adaptive=FIXED)
    pool = LimitPool(default=limits)
    valid = pool.valid_s()
    arrivals: list[float] = []
    t = 0.0
    for step in range(400):
        got = _spend_all(pool, limits, "abc"[step % 3], t, want=rng.randint(1, 3))
        arrivals += [t + rng.uniform(0, valid) + rng.uniform(0, margin) for _ in range(got)]
        t += rng.uniform(0.001, 0.03)
    arrivals.sort()
    assert len(arrivals) >= 5 * int(t // (1.0 + margin + valid))  # the windows were used, not starved
    for i in range(len(arrivals) - 5):
        assert arrivals[i + 5] - arrivals[i] >= 1.0 - 1e-9


def test_returned_credits_free_the_window_and_corrections_count() -> None:
    limits = ProviderLimits(requests_per_window=2, tokens_per_window=100, window_s=10, safety_margin_s=0,
                            adaptive=FIXED)
    pool = LimitPool(default=limits)
    grant = pool.sync(report("a", limits, want_requests=2, want_tokens=100, min_tokens=50), 0.0)
    batch = grant.batches[0]
    assert (batch.requests, batch.tokens) == (2, 100)
    assert pool.sync(report("b", limits, want_requests=1), 0.1).batches == []
    pool.sync(report("a", limits, returned=[Returned(batch.id, requests=1, tokens=60)]), 0.2)
    got = pool.sync(report("b", limits, want_requests=1, want_tokens=50, min_tokens=50), 0.3).batches
    assert got and got[0].requests == 1 and got[0].tokens == 50
    # a call used more tokens than estimated: the window counts the real figure
    pool.sync(report("b", limits, token_corrections=[(got[0].id, 30)]), 0.4)
    assert pool.sync(report("c", limits, want_tokens=10, min_tokens=10), 0.5).batches == []


def test_token_crumbs_are_not_handed_out_below_the_head_calls_need() -> None:
    limits = ProviderLimits(tokens_per_window=100, window_s=10, safety_margin_s=0, adaptive=FIXED)
    pool = LimitPool(default=limits)
    pool.sync(report("a", limits, want_tokens=70, min_tokens=70), 0.0)
    assert pool.sync(report("b", limits, want_tokens=60, min_tokens=60), 0.1).batches == []
    assert pool.sync(report("b", limits, want_tokens=30, min_tokens=30), 0.2).batches[0].tokens == 30


def test_an_empty_window_lets_one_oversized_call_through_but_never_more_than_the_limit() -> None:
    limits = ProviderLimits(tokens_per_window=100, window_s=10, safety_margin_s=0, adaptive=FIXED)
    # three calls of 80 tokens wait: the empty window still holds 100 at most
    batches = LimitPool(default=limits).sync(report("a", limits, waiting=3, want_tokens=240, min_tokens=80), 0.0).batches
    assert sum(b.tokens for b in batches) == 100
    # a single call bigger than the whole window goes alone, so it is never starved
    batches = LimitPool(default=limits).sync(report("a", limits, waiting=2, want_tokens=230, min_tokens=150), 0.0).batches
    assert sum(b.tokens for b in batches) == 150


def test_two_runs_share_one_pool_strictest_concurrency_and_both_windows() -> None:
    """A shared (detached) limiter: every registered run's limits hold at once; a new run
    neither resets the window (no doubling) nor takes the first run's slots."""
    first = ProviderLimits(max_concurrent=8, requests_per_window=10, window_s=1.0, safety_margin_s=0,
                           adaptive=FIXED)
    second = ProviderLimits(max_concurrent=3, requests_per_window=100, window_s=0.1, safety_margin_s=0,
                            adaptive=FIXED)
    pool = LimitPool()
    g1 = pool.sync(report("a", first, run="r1", waiting=8, want_requests=10), 0.0)
    assert g1.allocation == 8 and sum(b.requests for b in g1.batches) == 10
    g2 = pool.sync(report("b", second, run="r2", waiting=3, want_requests=5), 0.01)
    assert pool.concurrency_limit() == 3
    assert g2.allocation == 0  # a's 8 in-flight slots are kept, not taken
    assert g2.batches == []  # r1's window is full: no doubling by the second configuration
    assert pool.stats(0.01)["runs"] == ["r1", "r2"]
    pool.deregister("r2")
    assert pool.concurrency_limit() == 8


def test_a_restored_pool_carries_on_exactly() -> None:
    limits = ProviderLimits(max_concurrent=4, requests_per_window=3, window_s=10, safety_margin_s=0,
                            adaptive=FIXED)
    pool = LimitPool(default=limits)
    grant = pool.sync(report("a", limits, waiting=4, want_requests=3), 0.0)
    assert grant.allocation == 4 and sum(b.requests for b in grant.batches) == 3
    restored = LimitPool(decode_state(encode_state(pool.state)), default=limits)
    again = restored.sync(report("a", limits, in_flight=4, allocation_ack=4, want_requests=1), 1.0)
    assert again.known is True and again.allocation == 4 and again.batches == []
    other = restored.sync(report("b", limits, waiting=2, want_requests=1), 1.1)
    assert other.allocation == 0 and other.batches == []


def test_a_pool_that_lost_its_state_counts_what_clients_already_run() -> None:
    limits = ProviderLimits(max_concurrent=4, adaptive=FIXED)
    fresh = LimitPool(default=limits)
    a = fresh.sync(report("a", limits, in_flight=3, allocation_ack=3, waiting=1), 0.0)
    assert a.known is False and a.allocation == 4
    b = fresh.sync(report("b", limits, in_flight=2, allocation_ack=2), 0.1)
    # 3 + 2 > 4 really ran: b keeps none new, and is told so (its allowance revokes)
    assert b.known is False and b.allocation == 0


def test_final_report_hands_everything_back() -> None:
    limits = ProviderLimits(max_concurrent=2, adaptive=FIXED)
    pool = LimitPool(default=limits)
    pool.sync(report("a", limits, waiting=2), 0.0)
    pool.sync(report("a", limits, final=True), 0.1)
    assert pool.sync(report("b", limits, waiting=2), 0.2).allocation == 2
