"""In-process limiter core: leases, strict sliding windows, provider-wide pauses.

Why leases and not a semaphore: a holder that dies mid-call (a killed subagent) never
releases; a lease it stops renewing is reclaimed after `lease_ttl_s`, so the permit
comes back. Why a strict sliding window over grant times and not a token bucket: a
bucket refilled at N per window lets a full bucket plus a full refill through within
one window (2N), which a provider counting arrivals in any window answers with 429s.
Here a grant happens only if fewer than N grants lie in the last `window_s +
safety_margin_s`, so any `window_s` span of server arrivals holds at most N even with
up to `safety_margin_s` of network jitter.

Pure asyncio and single-threaded by design: the cluster's Ray actor wraps one instance.
Waiters are served strictly FIFO. Only the head waiter keeps a timer (until the next
moment a grant could become possible); the others sleep until a state change reaches
them, so thousands of parked waiters cost nothing and nobody busy-spins.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.limits import Lease, ProviderLimits

Clock = Callable[[], float]


@dataclass(slots=True)
class _LeaseState:
    holder: str
    tokens: int
    granted_at: float
    last_renewed: float


@dataclass(slots=True)
class _TokenEntry:
    at: float
    tokens: int


@dataclass(slots=True)
class _Waiter:
    holder: str
    tokens: int
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    lease: Lease | None = None
    gone: bool = False


class LimiterCore:
    """The `Limiter` protocol for one provider key, from `ProviderLimits`.

    `clock` is a monotonic clock in seconds (injectable for tests). Waiting itself uses
    the event loop's timers, so an injected clock must advance at real speed, or the
    test must call `sweep()` after moving it.
    """

    def __init__(self, limits: ProviderLimits, clock: Clock = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._leases: dict[str, _LeaseState] = {}
        self._grants: deque[float] = deque()
        self._token_log: deque[_TokenEntry] = deque()
        self._token_entry_of: dict[str, _TokenEntry] = {}
        self._waiters: deque[_Waiter] = deque()
        self._paused_until = float("-inf")
        self._pause_reason = ""
        self._granted_total = 0
        self._reclaimed_total = 0

    @property
    def lease_ttl_s(self) -> float:
        return self.limits.lease_ttl_s

    @property
    def _span_s(self) -> float:
        """The window we count in: the server's window plus slack for network jitter."""
        return self.limits.window_s + self.limits.safety_margin_s

    # -- the Limiter protocol ------------------------------------------------------------

    async def acquire(self, holder: str, tokens: int = 0) -> Lease:
        """Wait (FIFO) until every limit allows one more request of `tokens`, then lease."""
        waiter = _Waiter(holder, max(0, int(tokens)))
        self._waiters.append(waiter)
        try:
            while True:
                self._pump()
                if waiter.lease is not None:
                    return waiter.lease
                waiter.wake.clear()  # our own pump's nudge; no other task runs before we wait
                delay = self._head_delay_s() if self._waiters and self._waiters[0] is waiter else None
                try:
                    async with asyncio.timeout(delay):
                        await waiter.wake.wait()
                except TimeoutError:
                    pass
        except asyncio.CancelledError:
            waiter.gone = True
            if waiter.lease is not None:  # granted, but our caller will never see it
                self._drop_lease(waiter.lease.lease_id, tokens_used=0)
            self._pump()
            raise

    async def release(self, lease_id: str, tokens_used: int | None = None) -> None:
        """Free a lease; `tokens_used` replaces the estimate in the token window."""
        self._drop_lease(lease_id, tokens_used)
        self._pump()

    async def renew(self, lease_id: str) -> bool:
        """Keep a lease alive. False if it was already reclaimed (or never existed)."""
        self._reclaim_expired(self._clock())
        state = self._leases.get(lease_id)
        if state is None:
            return False
        state.last_renewed = self._clock()
        return True

    async def pause(self, seconds: float, reason: str = "") -> None:
        """No grant before now+seconds. Extends an existing pause, never shortens it."""
        until = self._clock() + max(0.0, float(seconds))
        if until > self._paused_until:
            self._paused_until = until
            self._pause_reason = reason
            self._nudge_head()

    # -- extras used by the cluster actor and tests ---------------------------------------

    def release_holder(self, holder: str) -> int:
        """Free every lease of a holder known to be dead; returns how many."""
        ids = [lid for lid, state in self._leases.items() if state.holder == holder]
        for lid in ids:
            self._drop_lease(lid, tokens_used=None)
        self._pump()
        return len(ids)

    def sweep(self) -> int:
        """Reclaim expired leases and serve whoever can now be served; returns reclaimed."""
        before = self._reclaimed_total
        self._pump()
        return self._reclaimed_total - before

    def stats(self) -> dict[str, Any]:
        now = self._clock()
        return {
            "in_flight": len(self._leases),
            "waiting": sum(1 for w in self._waiters if not w.gone and w.lease is None),
            "granted_total": self._granted_total,
            "paused_until_in_s": max(0.0, self._paused_until - now),
            "pause_reason": self._pause_reason if self._paused_until > now else "",
            "reclaimed_total": self._reclaimed_total,
        }

    # -- internals ----------------------------------------------------------------------

    def _drop_lease(self, lease_id: str, tokens_used: int | None) -> None:
        self._leases.pop(lease_id, None)
        entry = self._token_entry_of.pop(lease_id, None)
        if entry is not None and tokens_used is not None:
            entry.tokens = max(0, int(tokens_used))

    def _reclaim_expired(self, now: float) -> None:
        ttl = self.limits.lease_ttl_s
        dead = [lid for lid, s in self._leases.items() if now - s.last_renewed >= ttl]
        for lid in dead:
            self._drop_lease(lid, tokens_used=None)  # keep the estimate: it may have been sent
        self._reclaimed_total += len(dead)

    def _prune(self, now: float) -> None:
        horizon = now - self._span_s
        while self._grants and self._grants[0] <= horizon:
            self._grants.popleft()
        while self._token_log and self._token_log[0].at <= horizon:
            self._token_log.popleft()

    def _tokens_in_window(self) -> int:
        return sum(e.tokens for e in self._token_log)

    def _can_grant(self, tokens: int, now: float) -> bool:
        lim = self.limits
        if now < self._paused_until:
            return False
        if lim.max_concurrent is not None and len(self._leases) >= lim.max_concurrent:
            return False
        if lim.requests_per_window is not None and len(self._grants) >= lim.requests_per_window:
            return False
        # an empty window admits even an over-budget request, alone (no deadlock)
        return not (lim.tokens_per_window is not None and self._token_log
                    and self._tokens_in_window() + tokens > lim.tokens_per_window)

    def _grant(self, waiter: _Waiter, now: float) -> Lease:
        lease_id = uuid.uuid4().hex
        self._leases[lease_id] = _LeaseState(waiter.holder, waiter.tokens, now, now)
        self._grants.append(now)
        if self.limits.tokens_per_window is not None:
            entry = _TokenEntry(now, waiter.tokens)
            self._token_log.append(entry)
            self._token_entry_of[lease_id] = entry
        self._granted_total += 1
        return Lease(lease_id=lease_id, holder=waiter.holder, tokens=waiter.tokens)

    def _pump(self) -> None:
        """Grant to waiters in FIFO order while limits allow; wake the new head."""
        now = self._clock()
        self._reclaim_expired(now)
        self._prune(now)
        while self._waiters:
            head = self._waiters[0]
            if head.gone or head.lease is not None:
                self._waiters.popleft()
                continue
            if not self._can_grant(head.tokens, now):
                break
            head.lease = self._grant(head, now)
            self._waiters.popleft()
            head.wake.set()
        self._nudge_head()

    def _nudge_head(self) -> None:
        """Let the head waiter recompute its timer after any state change."""
        for waiter in self._waiters:
            if not waiter.gone and waiter.lease is None:
                waiter.wake.set()
                return

    def _head_delay_s(self) -> float | None:
        """Seconds until a grant to the head could next become possible (None: no timer)."""
        now = self._clock()
        head = self._waiters[0]
        lim = self.limits
        at = now
        at = max(at, self._paused_until)
        if lim.max_concurrent is not None and len(self._leases) >= lim.max_concurrent:
            # nobody releasing in time: the earliest lease expiry frees a permit
            expiry = min(s.last_renewed for s in self._leases.values()) + lim.lease_ttl_s
            at = max(at, expiry)
        n = lim.requests_per_window
        if n is not None and len(self._grants) >= n:
            at = max(at, self._grants[len(self._grants) - n] + self._span_s)
        budget = lim.tokens_per_window
        if budget is not None and self._token_log:
            used = self._tokens_in_window()
            for entry in self._token_log:
                if used + head.tokens <= budget:
                    break
                used -= entry.tokens
                at = max(at, entry.at + self._span_s)
        # a hair past the boundary so the window comparison has surely moved on
        return max(0.0, at - now) + 1e-4


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

    async def acquire(self, holder: str, tokens: int = 0) -> Lease:
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

    def release_holder(self, holder: str) -> int:
        return 0

    def stats(self) -> dict[str, Any]:
        return {"in_flight": len(self._in_flight), "waiting": 0, "granted_total": self.granted_total,
                "paused_until_in_s": max(0.0, self._paused_until - self._clock()), "reclaimed_total": 0}
