"""The limit pool served to clients over asyncio: syncs park until there is news.

Why parking: a client keeps exactly one sync outstanding. The pool answers it at once
when it has something for the client (credits it asked for, a new allocation, a pause),
and otherwise holds it until something changes or a heartbeat is due. So a pause or a
shrink reaches every client within one message, while an idle client costs one call per
heartbeat. The same class runs in-process (tests, single-process scripts) and inside
the cluster's limiter actor, which also snapshots the pool before every answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from harness.limit_contract import ProviderLimits
from harness.limit_pool import LimitPool
from harness.pool_state import ClientReport, Grant, PoolState

Clock = Callable[[], float]
Snapshot = Callable[[PoolState], None]


class PoolService:
    """One pool, many parked syncs. Single event loop; no locks needed."""

    def __init__(self, pool: LimitPool, *, clock: Clock = time.monotonic,
                 snapshot: Snapshot | None = None) -> None:
        self.pool = pool
        self._clock = clock
        self._snapshot = snapshot
        self._changed = asyncio.Event()
        self._nudged: set[str] = set()

    def _bump(self) -> None:
        """Wake every parked sync to look again (cheap: a pool has few clients)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _save(self) -> None:
        if self._snapshot is not None:
            self._snapshot(self.pool.state)

    async def sync(self, report: ClientReport) -> Grant:
        now = received = self._clock()
        known = self.pool.apply(report, now)
        self._nudged.discard(report.client)
        self._bump()  # held slots or credits may have come back: others may now be served
        deadline = now + self.pool.heartbeat_s()
        while True:
            now = self._clock()
            grant = self.pool.grant(report, now, known=known)
            if report.final or grant.is_news(report) or now >= deadline or report.client in self._nudged:
                self._nudged.discard(report.client)
                self._save()
                if grant.batches or grant.allocation != report.allocation_ack:
                    self._bump()
                grant.held_s = now - received
                return grant
            wake = deadline
            nxt = self.pool.next_change_at(now)
            if nxt is not None and (report.want_requests > 0 or report.want_tokens > 0):
                wake = min(wake, nxt)
            if report.want_requests > 0 or report.want_tokens > 0 or report.waiting > 0:
                paused_until = self.pool.state.paused_until
                if now < paused_until:
                    wake = min(wake, paused_until)
            changed = self._changed
            try:
                async with asyncio.timeout(max(0.0, wake - now) + 1e-4):
                    await changed.wait()
            except TimeoutError:
                pass

    async def nudge(self, client: str) -> None:
        """The client's needs changed while its sync is parked: answer that sync now."""
        self._nudged.add(client)
        self._bump()

    async def pause(self, seconds: float, reason: str = "") -> None:
        if self.pool.pause(seconds, reason, self._clock()):
            self._save()
            self._bump()

    def release_client(self, client: str) -> bool:
        gone = self.pool.release_client(client)
        if gone:
            self._save()
            self._bump()
        return gone

    def release_clients(self, prefix: str) -> int:
        n = self.pool.release_clients(prefix)
        if n:
            self._save()
            self._bump()
        return n

    def register(self, run: str, limits: ProviderLimits) -> None:
        """A run announces its limits before its clients sync (they hold from then on)."""
        self.pool.register(run, limits, self._clock())
        self._save()
        self._bump()

    def deregister(self, run: str) -> None:
        self.pool.deregister(run)
        self._save()
        self._bump()

    def stats(self) -> dict[str, object]:
        return self.pool.stats(self._clock())
