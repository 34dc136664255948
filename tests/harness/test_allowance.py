"""Several allowances on one pool, over asyncio: exact limits across clients, pauses that
reach everyone, a dead client's share coming back, and a pool that restarts or vanishes."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from harness.allowance import Allowance, LinkDown
from harness.limit_contract import Lease, ProviderLimits
from harness.limit_pool import LimitPool
from harness.limit_service import PoolService
from harness.local_limiters import DirectLink, LimiterCore
from harness.pool_state import ClientReport, Grant


class FlakyLink(DirectLink):
    """A link whose pool can vanish (`down`) or be replaced (a restart)."""

    def __init__(self, service: PoolService) -> None:
        super().__init__(service)
        self.down = False

    async def sync(self, report: ClientReport) -> Grant:
        if self.down:
            await asyncio.sleep(0.01)
            raise LinkDown("limiter unreachable")
        return await super().sync(report)

    async def nudge(self, client: str) -> None:
        if not self.down:
            await super().nudge(client)

    async def pause(self, seconds: float, reason: str) -> None:
        if self.down:
            raise LinkDown("limiter unreachable")
        await super().pause(seconds, reason)


async def _hold(allowance: Allowance, leases: list[Lease]) -> None:
    """A call that holds its permit until cancelled (by a revocation, say)."""
    lease = await allowance.acquire("h")
    leases.append(lease)
    try:
        await asyncio.sleep(30)
    finally:
        await allowance.release(lease.lease_id)


async def _holding(allowance: Allowance, n: int) -> tuple[list[Lease], list[asyncio.Task[None]]]:
    leases: list[Lease] = []
    tasks = [asyncio.create_task(_hold(allowance, leases)) for _ in range(n)]
    await _until(lambda: len(leases) == n)
    return leases, tasks


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _until(predicate: object, tries: int = 600) -> None:
    for _ in range(tries):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never held")


def _clients(limits: ProviderLimits, n: int) -> tuple[PoolService, list[Allowance]]:
    service = PoolService(LimitPool(default=limits))
    return service, [Allowance(DirectLink(service), client=f"c{i}", run="r", limits=limits) for i in range(n)]


async def test_concurrency_holds_across_clients_and_everyone_progresses() -> None:
    limits = ProviderLimits(max_concurrent=6)
    service, clients = _clients(limits, 3)
    rng = random.Random(0)
    in_flight = peak = 0
    done = {c.client: 0 for c in clients}

    async def call(allowance: Allowance) -> None:
        nonlocal in_flight, peak
        lease = await allowance.acquire("h")
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(rng.uniform(0, 0.01))
        in_flight -= 1
        done[allowance.client] += 1
        await allowance.release(lease.lease_id)

    await asyncio.wait_for(asyncio.gather(*(call(c) for c in clients for _ in range(40))), 20)
    assert peak <= 6 and all(n == 40 for n in done.values())
    for c in clients:
        await c.aclose()
    assert service.stats()["held"] == 0 and service.stats()["clients"] == 0


async def test_window_holds_across_clients_on_the_limiters_own_stamps() -> None:
    limits = ProviderLimits(requests_per_window=5, window_s=0.3, safety_margin_s=0.0)
    _, clients = _clients(limits, 2)
    leases: list[Lease] = []

    async def call(allowance: Allowance) -> None:
        lease = await allowance.acquire("h")
        leases.append(lease)
        await allowance.release(lease.lease_id)

    await asyncio.wait_for(asyncio.gather(*(call(c) for c in clients for _ in range(9))), 20)
    stamps = sorted(lease.granted_at for lease in leases)
    for i in range(len(stamps) - 5):
        assert stamps[i + 5] - stamps[i] >= 0.3
    for c in clients:
        await c.aclose()


class SlowLink(DirectLink):
    """Replies that take `delay_s` to come back, as a sync to a Ray actor on a loaded machine."""

    def __init__(self, service: PoolService, delay_s: float) -> None:
        super().__init__(service)
        self.delay_s = delay_s

    async def sync(self, report: ClientReport) -> Grant:
        grant = await super().sync(report)
        await asyncio.sleep(self.delay_s)
        return grant


async def test_slow_replies_and_parked_syncs_still_bring_usable_credits() -> None:
    """Credits whose reply took 0.1 s, or that waited parked in the pool for the window to
    free, are still spendable on arrival: every call gets its permit (with the old 50 ms
    validity every batch arrived expired and nothing ran), and the window holds on the
    limiter's own grant stamps."""
    limits = ProviderLimits(requests_per_window=2, window_s=0.5, safety_margin_s=0.0)
    service = PoolService(LimitPool(default=limits))
    allowance = Allowance(SlowLink(service, 0.1), client="c", run="r", limits=limits)
    leases: list[Lease] = []

    async def call() -> None:
        lease = await allowance.acquire("h")
        leases.append(lease)
        await allowance.release(lease.lease_id)

    await asyncio.wait_for(asyncio.gather(*(call() for _ in range(6))), 30)
    stamps = sorted(lease.granted_at for lease in leases)
    assert len(stamps) == 6 and all(stamps[i + 2] - stamps[i] >= 0.5 for i in range(len(stamps) - 2))
    await allowance.aclose()


async def test_a_pause_reaches_every_client() -> None:
    limits = ProviderLimits(max_concurrent=4)
    _, (a, b) = _clients(limits, 2)
    await b.release((await b.acquire("warm")).lease_id)  # b is registered and parked
    t0 = time.monotonic()
    await a.pause(0.3, "429")
    await _until(lambda: b.stats()["paused_for_s"] > 0)
    lease = await asyncio.wait_for(b.acquire("h"), 5)
    assert lease.granted_at >= t0 + 0.3
    await a.aclose()
    await b.aclose()


async def test_a_dead_clients_share_comes_back_after_the_ttl() -> None:
    limits = ProviderLimits(max_concurrent=2, lease_ttl_s=0.3)
    service, (dead, alive) = _clients(limits, 2)
    await dead.acquire("h")
    await dead.acquire("h")
    assert dead._task is not None
    dead._task.cancel()  # killed: no final report, no more heartbeats
    lease = await asyncio.wait_for(alive.acquire("h"), 5)
    assert lease is not None and service.stats()["reclaimed_clients"] == 1
    await alive.aclose()


async def test_a_restarted_pool_without_state_gets_the_excess_revoked() -> None:
    limits = ProviderLimits(max_concurrent=4)
    old = PoolService(LimitPool(default=limits))
    link = FlakyLink(old)
    a = Allowance(link, client="a", run="r", limits=limits)
    held, tasks = await _holding(a, 3)
    # the pool restarts with no memory while another client already runs 3 of the 4 slots
    fresh = PoolService(LimitPool(default=limits))
    other = Allowance(DirectLink(fresh), client="b", run="r", limits=limits)
    _others, other_tasks = await _holding(other, 3)
    link.service = fresh
    await old.nudge("a")  # a's parked sync was on the old pool: its next one reaches the new
    await _until(lambda: a.revoked_total > 0)
    assert sum(lease.revoked for lease in held) == a.revoked_total == 2  # 3 + 3 > 4: two of a's stop
    await _until(lambda: sum(t.done() for t in tasks) == 2)
    await _stop(tasks + other_tasks)
    await a.aclose()
    await other.aclose()


@pytest.mark.parametrize("outage_s,revoked", [(0.1, False), (1.0, True)])
async def test_an_unreachable_limiter_never_raises_and_lapses_only_after_the_ttl(
        outage_s: float, revoked: bool) -> None:
    limits = ProviderLimits(max_concurrent=2, lease_ttl_s=0.45)
    service = PoolService(LimitPool(default=limits))
    link = FlakyLink(service)
    a = Allowance(link, client="a", run="r", limits=limits)
    (lease,), tasks = await _holding(a, 1)
    link.down = True
    await service.nudge("a")  # the parked sync returns; the next ones fail
    await asyncio.sleep(outage_s)
    assert lease.revoked is revoked
    link.down = False
    nxt = await asyncio.wait_for(a.acquire("h"), 5)  # the link comes back: calls go on
    assert nxt is not None and a.link_errors > 0
    await a.release(nxt.lease_id)
    await _stop(tasks)
    await a.aclose()


async def test_limiter_core_is_one_pool_and_one_allowance() -> None:
    core = LimiterCore(ProviderLimits(max_concurrent=1))
    lease = await core.acquire("h")
    assert core.pool_stats()["held"] == 1
    await core.release(lease.lease_id)
    await core.aclose()
    assert core.pool_stats()["clients"] == 0
