"""A process's allowance from its provider's limit pool: the `Limiter` every call uses.

Why local: granting a call here is a few dictionary operations, not a round-trip to the
cluster's limiter actor (measured in benchmarks/limiter_cost.py). One background task per
allowance keeps exactly one `sync` outstanding with the pool: it reports what is in
flight, what waits, which credits went unused and how calls ended (for adaptive
concurrency), and receives the allocation, new credits and pauses. The pool's rules (see
harness/limit_pool.py) make the cluster-wide limits exact; this side keeps its promises:

- never more calls in flight than the allocation; credits spent only before they expire;
- a heartbeat that lapses (the limiter unreachable for a whole TTL) voids the allocation:
  calls in flight are revoked, interrupted and acquired again, never run on without one;
- a pool that no longer knows us (restarted without its state, or it reclaimed us) gets
  our in-flight calls reported as load, and any it cannot cover are revoked;
- an unreachable limiter never raises into a call: the link is retried with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from harness.limit_contract import Lease, LimiterUnavailable, ProviderLimits
from harness.pool_state import ClientReport, Grant, Returned

Clock = Callable[[], float]
PREFETCH_S = 0.25
BACKOFF_MIN_S = 0.05
BACKOFF_MAX_S = 1.0


class LinkDown(Exception):
    """The pool could not be reached (the limiter actor died or is restarting)."""


class PoolLink(Protocol):
    async def sync(self, report: ClientReport) -> Grant: ...

    async def nudge(self, client: str) -> None: ...

    async def pause(self, seconds: float, reason: str) -> None: ...


@dataclass(eq=False)
class _Batch:
    id: str
    expires_at: float
    requests: int
    tokens: int


@dataclass(eq=False)
class _Waiter:
    holder: str
    tokens: int
    task: asyncio.Task[object] | None = None
    done: asyncio.Future[Lease] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Allowance:
    """The `Limiter` protocol over a local allowance, refreshed from a pool via `link`."""

    def __init__(self, link: PoolLink, *, client: str, run: str, limits: ProviderLimits,
                 clock: Clock = time.monotonic) -> None:
        self._link = link
        self.client = client
        self.run = run
        self.limits = limits
        self._clock = clock
        self._allocation: int | None = 0
        self._acked: int | None = None
        self._credits_needed = bool(limits.requests_per_window or limits.tokens_per_window)
        self._valid_s = 1.0
        self._valid_until = -math.inf
        self._heartbeat_s = limits.lease_ttl_s / 3
        self._synced = False
        self._batches: deque[_Batch] = deque()
        self._in_flight: dict[str, Lease] = {}
        self._waiters: deque[_Waiter] = deque()
        self._paused_until = -math.inf
        self._pause_epoch = 0
        self._returned: list[Returned] = []
        self._corrections: list[tuple[str, int]] = []
        self._ok = 0
        self._rate_limited = 0
        self._low_remaining = False
        self._rate = 0.0  # calls started per second (EWMA), for prefetching credits
        self._last_take = clock()
        self._pending_demand: tuple[int, int] | None = None  # (waiting, wants) of the sync in flight
        self._nudging = False
        self._pause_timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._first_grant = asyncio.Event()
        self._closing = False
        self.link_errors = 0
        self.revoked_total = 0
        self.granted_total = 0
        self._ids = itertools.count()  # lease ids are local: a counter, not urandom

    @property
    def lease_ttl_s(self) -> float:
        return self.limits.lease_ttl_s

    # -- the Limiter protocol -------------------------------------------------------------

    async def acquire(self, holder: str, tokens: int = 0, *, timeout_s: float | None = None) -> Lease:
        """A permit now if the allowance has one (no message sent), else wait in FIFO order
        for the pool to send more; `LimiterUnavailable` when `timeout_s` passes first."""
        self._ensure_running()
        tokens = max(0, int(tokens))
        task = asyncio.current_task()
        if not self._waiters and self._can_take(tokens):
            return self._take(holder, tokens, task)
        waiter = _Waiter(holder, tokens, task)
        self._waiters.append(waiter)
        self._want_more()
        try:
            async with asyncio.timeout(timeout_s):
                return await asyncio.shield(waiter.done)
        except (TimeoutError, asyncio.CancelledError) as exc:
            self._forget(waiter)
            if isinstance(exc, TimeoutError):
                raise LimiterUnavailable(f"no permit within {timeout_s:.1f} s") from None
            raise

    async def release(self, lease_id: str, tokens_used: int | None = None) -> None:
        """Free a permit; `tokens_used` corrects the estimate in the pool's token window."""
        lease = self._in_flight.pop(lease_id, None)
        if lease is None:
            return
        if tokens_used is not None and lease.consumed and tokens_used != lease.tokens:
            self._corrections.append((lease.consumed[0][0], int(tokens_used) - lease.tokens))
        self._serve()

    async def renew(self, lease_id: str) -> bool:
        """True while the permit stands (heartbeats are the allowance's, not per call)."""
        lease = self._in_flight.get(lease_id)
        return lease is not None and not lease.revoked

    async def pause(self, seconds: float, reason: str = "") -> None:
        """Stop starting calls here at once, and tell the pool so every client stops."""
        until = self._clock() + max(0.0, float(seconds))
        self._paused_until = max(self._paused_until, until)
        with contextlib.suppress(Exception):  # a lost pause costs others one 429 each, no more
            await self._link.pause(seconds, reason)

    def outcome(self, *, rate_limited: bool, low_remaining: bool = False) -> None:
        """How an attempt ended, for the pool's adaptive concurrency."""
        if rate_limited:
            self._rate_limited += 1
        else:
            self._ok += 1
        self._low_remaining = self._low_remaining or low_remaining

    async def aclose(self) -> None:
        """Hand everything back (one last sync) and stop the background task."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0):
                await self._link.sync(self._report(final=True))

    def stats(self) -> dict[str, object]:
        return {"in_flight": len(self._in_flight), "waiting": len(self._waiters),
                "allocation": self._allocation, "granted_total": self.granted_total,
                "paused_for_s": max(0.0, self._paused_until - self._clock()),
                "link_errors": self.link_errors, "revoked_total": self.revoked_total}

    # -- local granting -------------------------------------------------------------------

    def _available(self) -> tuple[int, int]:
        now = self._clock()
        requests = tokens = 0
        for batch in self._batches:
            if batch.expires_at > now:
                requests += batch.requests
                tokens += batch.tokens
        return requests, tokens

    def _can_take(self, tokens: int) -> bool:
        now = self._clock()
        if not self._synced or now < self._paused_until or now >= self._valid_until:
            return False
        if self._allocation is not None and len(self._in_flight) >= self._allocation:
            return False
        if not self._credits_needed:
            return True
        requests, have = self._available()
        need_tokens = tokens if self.limits.tokens_per_window is not None else 0
        wants_requests = self.limits.requests_per_window is not None
        return (requests >= 1 or not wants_requests) and have >= need_tokens

    def _take(self, holder: str, tokens: int, task: asyncio.Task[object] | None) -> Lease:
        now = self._clock()
        lease = Lease(lease_id=f"{self.client}:{next(self._ids)}", holder=holder, tokens=tokens, granted_at=now)
        if self._credits_needed:
            self._spend(lease, now)
        dt = max(1e-3, now - self._last_take)
        self._rate = 0.8 * self._rate + 0.2 * (1.0 / dt)
        self._last_take = now
        lease.task = task
        self._in_flight[lease.lease_id] = lease
        self.granted_total += 1
        return lease

    def _spend(self, lease: Lease, now: float) -> None:
        need_request = self.limits.requests_per_window is not None
        need_tokens = lease.tokens if self.limits.tokens_per_window is not None else 0
        for batch in self._batches:
            if batch.expires_at <= now:
                continue
            if need_request and batch.requests > 0:
                batch.requests -= 1
                need_request = False
                if not lease.consumed:
                    lease.consumed.append((batch.id, 0))
            if need_tokens and batch.tokens > 0:
                take = min(batch.tokens, need_tokens)
                batch.tokens -= take
                need_tokens -= take
                lease.consumed.append((batch.id, take))
            if not need_request and not need_tokens:
                break
        while self._batches and self._batches[0].requests <= 0 and self._batches[0].tokens <= 0:
            self._batches.popleft()

    def _serve(self) -> None:
        while self._waiters:
            head = self._waiters[0]
            if head.done.done():
                self._waiters.popleft()
                continue
            if not self._can_take(head.tokens):
                break
            self._waiters.popleft()
            head.done.set_result(self._take(head.holder, head.tokens, head.task))
        if self._waiters:
            self._want_more()
            self._wake_after_pause()

    def _wake_after_pause(self) -> None:
        """Waiters held back only by a pause: serve them the moment it ends."""
        now = self._clock()
        if now < self._paused_until and self._pause_timer is None:
            def fire() -> None:
                self._pause_timer = None
                self._serve()
            self._pause_timer = asyncio.get_running_loop().call_later(self._paused_until - now + 1e-3, fire)

    def _forget(self, waiter: _Waiter) -> None:
        """A waiter that gave up: drop it, and free a permit granted to it too late."""
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)
        if waiter.done.done() and not waiter.done.cancelled() and waiter.done.exception() is None:
            lease = waiter.done.result()
            self._in_flight.pop(lease.lease_id, None)
        elif not waiter.done.done():
            waiter.done.cancel()
        self._serve()

    # -- the background sync ------------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"allowance:{self.client}")

    def _want_more(self) -> None:
        """New demand the outstanding sync does not cover: ask the pool to answer it now."""
        pending = self._pending_demand
        if pending is None or self._nudging:
            return
        waiting, wants = pending
        if len(self._waiters) <= waiting and wants > 0:
            return
        if self._allocation is not None and len(self._in_flight) < self._allocation and not self._credits_needed:
            return
        self._nudging = True
        asyncio.get_running_loop().create_task(self._nudge())

    async def _nudge(self) -> None:
        try:
            with contextlib.suppress(Exception):  # the heartbeat gets there anyway
                await self._link.nudge(self.client)
        finally:
            self._nudging = False

    def _report(self, *, final: bool = False) -> ClientReport:
        now = self._clock()
        live: deque[_Batch] = deque()
        for batch in self._batches:
            if batch.expires_at <= now or final:
                if batch.requests or batch.tokens:
                    self._returned.append(Returned(batch.id, batch.requests, batch.tokens))
            else:
                live.append(batch)
        self._batches = live
        waiting = 0 if final else len(self._waiters)
        want_requests = want_tokens = min_tokens = 0
        if self._credits_needed and not final:
            have_r, have_t = self._available()
            if self.limits.requests_per_window is not None:
                prefetch = math.ceil(self._rate * min(PREFETCH_S, self._valid_s)) if self._in_flight else 0
                want_requests = max(0, waiting + prefetch - have_r)
            if self.limits.tokens_per_window is not None and self._waiters:
                need = sum(w.tokens for w in self._waiters)
                min_tokens = max(0, self._waiters[0].tokens - have_t)
                want_tokens = max(0, need - have_t)
        report = ClientReport(
            client=self.client, run=self.run, limits=self.limits,
            in_flight=0 if final else len(self._in_flight), waiting=waiting,
            allocation_ack=0 if final else self._acked,
            want_requests=want_requests, want_tokens=want_tokens, min_tokens=min_tokens,
            returned=self._returned, token_corrections=self._corrections,
            completed_ok=self._ok, rate_limited=self._rate_limited, low_remaining=self._low_remaining,
            pause_epoch_ack=self._pause_epoch, final=final)
        self._returned, self._corrections = [], []
        self._ok = self._rate_limited = 0
        self._low_remaining = False
        return report

    async def _run(self) -> None:
        backoff = BACKOFF_MIN_S
        while not self._closing:
            report = self._report()
            sent_at = self._clock()
            self._pending_demand = (report.waiting, report.want_requests + report.want_tokens)
            try:
                grant = await self._link.sync(report)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - LinkDown or anything the transport raised
                self._pending_demand = None
                self._restore_unsent(report)
                self.link_errors += 1
                self._check_validity()
                await asyncio.sleep(backoff)
                backoff = min(BACKOFF_MAX_S, backoff * 2)
                continue
            backoff = BACKOFF_MIN_S
            self._pending_demand = None
            self._apply(grant, sent_at)
            self._serve()

    def _restore_unsent(self, report: ClientReport) -> None:
        """A sync that failed: what it carried must go out again with the next one."""
        self._returned = report.returned + self._returned
        self._corrections = report.token_corrections + self._corrections
        self._ok += report.completed_ok
        self._rate_limited += report.rate_limited
        self._low_remaining = self._low_remaining or report.low_remaining

    def _check_validity(self) -> None:
        if self._synced and self._clock() >= self._valid_until:
            self._revoke(len(self._in_flight))
            self._allocation = 0

    def _apply(self, grant: Grant, sent_at: float) -> None:
        now = self._clock()
        self._synced = True
        self._heartbeat_s = grant.heartbeat_s
        self._valid_until = sent_at + grant.lease_ttl_s
        self._valid_s = grant.valid_s
        self._credits_needed = grant.credits_needed
        self._allocation = grant.allocation
        self._acked = grant.allocation
        for batch in grant.batches:
            # issued `held_s` after the pool received the sync, which was after `sent_at`: so
            # this expiry is never later than the pool's own (issue + valid), however long the
            # sync was parked; without `held_s` credits from a parked sync arrived expired
            self._batches.append(_Batch(batch.id, sent_at + grant.held_s + grant.valid_s, batch.requests,
                                        batch.tokens))
        if grant.pause_epoch != self._pause_epoch:
            self._pause_epoch = grant.pause_epoch
            if grant.paused_for_s > 0:
                self._paused_until = max(self._paused_until, now + grant.paused_for_s)
        if not grant.known and grant.allocation is not None and len(self._in_flight) > grant.allocation:
            self._revoke(len(self._in_flight) - grant.allocation)
        self._first_grant.set()

    def _revoke(self, count: int) -> None:
        """Interrupt the newest `count` calls: they acquire again and retry."""
        for lease in list(self._in_flight.values())[::-1][:count]:
            lease.revoked = True
            self._in_flight.pop(lease.lease_id, None)
            self.revoked_total += 1
            if lease.task is not None and not lease.task.done():
                lease.task.cancel(msg="fleetbench: lease revoked")
