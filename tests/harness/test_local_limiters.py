"""The in-process limiter (a real pool and a real allowance): concurrency, strict sliding
windows asserted on the limiter's own grant stamps, pauses, FIFO, no busy-spin."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from harness.limit_contract import Lease, LimiterUnavailable, ProviderLimits
from harness.local_limiters import LimiterCore, UnlimitedLimiter


async def _started(task_count: int = 3) -> None:
    """Let freshly created tasks reach their first await."""
    for _ in range(task_count):
        await asyncio.sleep(0)


async def _settle(core: LimiterCore, waiting: int, tries: int = 300) -> None:
    """Wait (on the limiter's own state, not a clock) until `waiting` calls are parked."""
    for _ in range(tries):
        if core.stats()["waiting"] == waiting:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never reached {waiting} waiting: {core.stats()}")


async def test_concurrency_cap_under_50_acquirers() -> None:
    core = LimiterCore(ProviderLimits(max_concurrent=5))
    in_flight = 0
    peak = 0
    rng = random.Random(0)

    async def worker(i: int) -> None:
        nonlocal in_flight, peak
        lease = await core.acquire(f"h{i}")
        in_flight += 1
        peak = max(peak, in_flight)
        assert core.stats()["in_flight"] <= 5
        await asyncio.sleep(rng.uniform(0, 0.005))
        in_flight -= 1
        await core.release(lease.lease_id)

    await asyncio.wait_for(asyncio.gather(*(worker(i) for i in range(50))), 10)
    assert peak == 5
    stats = core.stats()
    assert stats["granted_total"] == 50 and stats["in_flight"] == 0 and stats["waiting"] == 0


@pytest.mark.parametrize("margin", [0.0, 0.02])
async def test_sliding_window_never_exceeds_n_for_a_burst(margin: float) -> None:
    n, window = 4, 0.1
    core = LimiterCore(ProviderLimits(requests_per_window=n, window_s=window, safety_margin_s=margin))
    leases: list[Lease] = []

    async def one(i: int) -> None:
        lease = await core.acquire(f"h{i}")
        leases.append(lease)
        await core.release(lease.lease_id)

    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(14))), 10)
    grants = sorted(lease.granted_at for lease in leases)  # the limiter's own stamps
    assert len(grants) == 14
    # any n+1 consecutive grants span at least window + margin: so any window_s of server
    # arrivals, each up to `margin` after its grant, holds at most n
    for i in range(len(grants) - n):
        assert grants[i + n] - grants[i] >= window + margin
    # and the first n go together (a burst is allowed, just never more than n)
    assert len({round(g, 6) for g in grants[:n]}) <= n


async def test_pause_blocks_everyone_until_it_ends() -> None:
    core = LimiterCore(ProviderLimits(max_concurrent=10))
    t0 = time.monotonic()
    await core.pause(0.2, "429")
    await core.pause(0.05, "shorter")  # never shortens
    assert core.stats()["paused_for_s"] > 0.1
    leases = await asyncio.wait_for(asyncio.gather(*(core.acquire(f"h{i}") for i in range(5))), 5)
    assert len(leases) == 5
    assert min(lease.granted_at for lease in leases) - t0 >= 0.2


async def test_pause_extends_while_waiting() -> None:
    core = LimiterCore(ProviderLimits())
    await core.pause(0.05)
    t0 = time.monotonic()
    task = asyncio.create_task(core.acquire("h"))
    await _started()
    await core.pause(0.2)
    lease = await asyncio.wait_for(task, 3)
    assert lease.granted_at - t0 >= 0.2 - 1e-3


async def test_fifo_order() -> None:
    core = LimiterCore(ProviderLimits(max_concurrent=1))
    first = await core.acquire("h")
    order: list[int] = []

    async def one(i: int) -> None:
        lease = await core.acquire(f"h{i}")
        order.append(i)
        await asyncio.sleep(0)
        await core.release(lease.lease_id)

    tasks = []
    for i in range(20):
        tasks.append(asyncio.create_task(one(i)))
        await _started(1)
    await core.release(first.lease_id)
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert order == list(range(20))


async def test_fifo_big_token_request_is_not_overtaken() -> None:
    core = LimiterCore(ProviderLimits(tokens_per_window=100, window_s=0.15, safety_margin_s=0))
    await core.acquire("a", tokens=60)
    order: list[str] = []

    async def one(name: str, tokens: int) -> None:
        await core.acquire(name, tokens=tokens)
        order.append(name)

    big = asyncio.create_task(one("big", 90))
    await _started()
    small = asyncio.create_task(one("small", 10))  # would fit now, but must not jump the queue
    await _started()
    assert order == []
    await asyncio.wait_for(asyncio.gather(big, small), 5)
    assert order == ["big", "small"]


async def test_token_window_and_release_correction() -> None:
    core = LimiterCore(ProviderLimits(tokens_per_window=100, window_s=10, safety_margin_s=0))
    a = await core.acquire("h", tokens=60)
    waiter = asyncio.create_task(core.acquire("h", tokens=60))
    await _settle(core, 1)
    assert not waiter.done()
    await core.release(a.lease_id, tokens_used=20)  # estimate was high: 20 + 60 <= 100
    lease = await asyncio.wait_for(waiter, 5)
    assert lease.tokens == 60


async def test_oversized_request_is_granted_alone_when_window_empty() -> None:
    core = LimiterCore(ProviderLimits(tokens_per_window=100, window_s=0.1, safety_margin_s=0))
    big = await asyncio.wait_for(core.acquire("h", tokens=500), 2)  # no deadlock
    assert big.tokens == 500
    await core.release(big.lease_id)
    small = await asyncio.wait_for(core.acquire("h", tokens=1), 5)  # waits for the big one to age out
    assert small.granted_at - big.granted_at >= 0.1


async def test_cancelled_waiter_does_not_block_the_queue() -> None:
    core = LimiterCore(ProviderLimits(max_concurrent=1))
    held = await core.acquire("h")
    doomed = asyncio.create_task(core.acquire("doomed"))
    await _started()
    behind = asyncio.create_task(core.acquire("behind"))
    await _settle(core, 2)
    doomed.cancel()
    await _settle(core, 1)
    await core.release(held.lease_id)
    assert (await asyncio.wait_for(behind, 5)).holder == "behind"
    assert core.stats()["in_flight"] == 1


async def test_a_timeout_gives_up_cleanly() -> None:
    core = LimiterCore(ProviderLimits(max_concurrent=1))
    held = await core.acquire("h")
    with pytest.raises(LimiterUnavailable):
        await core.acquire("late", timeout_s=0.05)
    assert core.stats()["waiting"] == 0
    await core.release(held.lease_id)
    assert (await asyncio.wait_for(core.acquire("next"), 5)).holder == "next"


async def test_waiting_does_not_busy_spin() -> None:
    reads = 0

    def real() -> float:
        nonlocal reads
        reads += 1
        return time.monotonic()

    core = LimiterCore(ProviderLimits(requests_per_window=1, window_s=0.3, safety_margin_s=0), clock=real)
    await core.acquire("h")
    waiters = [asyncio.create_task(core.acquire(f"w{i}")) for i in range(20)]
    await _settle(core, 20)
    before = reads
    await asyncio.sleep(0.2)
    # 20 parked waiters over 0.2 s: a handful of clock reads, not thousands
    assert reads - before < 200
    for w in waiters:
        w.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)


async def test_stats_shape_and_defaults() -> None:
    core = LimiterCore(ProviderLimits(max_concurrent=2))
    stats = core.stats()
    for key in ("in_flight", "waiting", "allocation", "granted_total", "paused_for_s", "revoked_total"):
        assert key in stats
    assert core.lease_ttl_s == ProviderLimits().lease_ttl_s == 10.0


async def test_unlimited_limiter_grants_at_once_but_honours_pause() -> None:
    lim = UnlimitedLimiter()
    leases: list[Lease] = await asyncio.gather(*(lim.acquire("h") for _ in range(100)))
    assert len({lease.lease_id for lease in leases}) == 100
    assert await lim.renew(leases[0].lease_id)
    await lim.release(leases[0].lease_id)
    assert not await lim.renew(leases[0].lease_id)
    t0 = time.monotonic()
    await lim.pause(0.1)
    await lim.acquire("h")
    assert time.monotonic() - t0 >= 0.1 - 1e-3
