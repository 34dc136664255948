"""In-process limiters: a whole limit pool in one process, and no limits at all.

Why keep these beside the cluster's: tests, scripts and single-process tools need the same
`Limiter` the cluster uses, with the same rules; `LimiterCore` is the real pool
(harness/limit_pool.py) and a real allowance (harness/allowance.py) joined by a direct
link instead of a Ray actor.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from harness.allowance import Allowance
from harness.limit_contract import Lease, ProviderLimits
from harness.limit_pool import LimitPool
from harness.limit_service import PoolService
from harness.pool_state import ClientReport, Grant

Clock = Callable[[], float]


class DirectLink:
    """The allowance-to-pool link when both live in this process."""

    def __init__(self, service: PoolService) -> None:
        self.service = service

    async def sync(self, report: ClientReport) -> Grant:
        return await self.service.sync(report)

    async def nudge(self, client: str) -> None:
        await self.service.nudge(client)

    async def pause(self, seconds: float, reason: str) -> None:
        await self.service.pause(seconds, reason)


class LimiterCore(Allowance):
    """A private pool with one allowance drawing on it: the cluster's rules in one process."""

    def __init__(self, limits: ProviderLimits, clock: Clock = time.monotonic, *, client: str = "local",
                 service: PoolService | None = None) -> None:
        self.service = service or PoolService(LimitPool(default=limits), clock=clock)
        super().__init__(DirectLink(self.service), client=client, run="local", limits=limits, clock=clock)

    def pool_stats(self) -> dict[str, object]:
        return self.service.stats()


class UnlimitedLimiter:
    """The `Limiter` protocol with no configured limits (tests, local scripts).

    It still honours `pause`: a server's 429 with Retry-After is a provider-wide fact
    whether or not the user configured limits.
    """

    lease_ttl_s = 30.0

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._paused_until = float("-inf")
        self._in_flight: set[str] = set()
        self.granted_total = 0

    async def acquire(self, holder: str, tokens: int = 0, *, timeout_s: float | None = None) -> Lease:
        while (left := self._paused_until - self._clock()) > 0:
            await asyncio.sleep(left)
        lease = Lease(lease_id=uuid.uuid4().hex, holder=holder, tokens=max(0, int(tokens)))
        self._in_flight.add(lease.lease_id)
        self.granted_total += 1
        return lease

    async def release(self, lease_id: str, tokens_used: int | None = None) -> None:
        self._in_flight.discard(lease_id)

    async def renew(self, lease_id: str) -> bool:
        return lease_id in self._in_flight

    async def pause(self, seconds: float, reason: str = "") -> None:
        self._paused_until = max(self._paused_until, self._clock() + max(0.0, float(seconds)))

    def stats(self) -> dict[str, Any]:
        return {"in_flight": len(self._in_flight), "waiting": 0, "granted_total": self.granted_total,
                "paused_for_s": max(0.0, self._paused_until - self._clock())}
