"""The cluster-wide limit pool for one provider key: capacity handed out as allowances.

Why allowances and not a lease per call: a permit fetched from a remote actor for every
call costs two round-trips and a renew task per call, which on a busy machine is the
client's own bottleneck. Instead each client process (a phase subagent) holds an
allowance, the pattern of YouTube's Doorman: a share of the concurrency slots and a
stock of request and token credits, refreshed by one background `sync` per client. The
limits still hold exactly across the cluster:

- Concurrency: the slots allocated to all clients never sum above the limit. A client
  told to shrink keeps its old share counted until it reports it is back under the new
  one, so shares never overlap.
- Request and token windows: a credit issued at `t` may be used until `t + valid_s`, and
  stays counted until `t + valid_s + window_s + safety_margin_s`; so however late in its
  validity a credit is spent, and however late the server stamps its arrival (the margin),
  any `window_s` span of server arrivals holds at most N. Unused credits come back.
- A client not heard from for `lease_ttl_s` loses its share (a dead subagent gives its
  allowance back by TTL); credits it was given stay counted until they age out.

Several runs may share one pool (a detached limiter on a shared cluster): each registers
its limits, and every registered configuration holds at once (the strictest concurrency,
each window its own constraint over one shared log), so a second run can neither double a
window nor take the first run's slots. Registrations lapse when their clients stop.

Pure and clock-injected: harness/limit_service.py wraps it for asyncio (parking syncs),
cluster/ wraps that in a Ray actor that snapshots this state so a restart loses nothing.
The messages and the saved state are harness/pool_state.py; the window and share
arithmetic is harness/credit_windows.py.
"""

from __future__ import annotations

import msgspec

from harness.aimd import AdaptiveConcurrency, AdaptiveSettings, AdaptiveState
from harness.credit_windows import Window, fair_shares, next_change_at, prune, used_in, windows_of
from harness.limit_contract import ProviderLimits
from harness.pool_state import (
    VALID_MAX_S,
    VALID_MIN_S,
    ClientReport,
    ClientState,
    CreditBatch,
    Grant,
    PoolState,
    Registration,
)


class LimitPool:
    """Allowances for one provider key. Call `sync` with each client report."""

    def __init__(self, state: PoolState | None = None, *, default: ProviderLimits | None = None) -> None:
        self.state = state or PoolState()
        self._default = default or ProviderLimits()
        self._adaptive = self._make_adaptive(self.state.adaptive)

    # -- configuration --------------------------------------------------------------------

    def _limits(self) -> list[ProviderLimits]:
        regs = [r.limits for r in self.state.registrations.values()]
        return regs or [self._default]

    def _configured_cap(self) -> int | None:
        caps = [lim.max_concurrent for lim in self._limits() if lim.max_concurrent is not None]
        return min(caps) if caps else None

    def _adaptive_settings(self) -> AdaptiveSettings:
        # the strictest wins: adaptive if any registration wants it, with the highest floor
        limits = self._limits()
        enabled = [lim.adaptive for lim in limits if lim.adaptive.enabled]
        if not enabled:
            return limits[0].adaptive
        return max(enabled, key=lambda a: (a.floor, -a.initial))

    def _make_adaptive(self, saved: AdaptiveState | None) -> AdaptiveConcurrency:
        adaptive = AdaptiveConcurrency(self._adaptive_settings(), self._configured_cap(), saved)
        self.state.adaptive = adaptive.state
        return adaptive

    def _reconfigured(self) -> None:
        self._adaptive.reconfigure(self._adaptive_settings(), self._configured_cap())

    def windows(self) -> list[Window]:
        return windows_of(self._limits())

    def lease_ttl_s(self) -> float:
        return min(lim.lease_ttl_s for lim in self._limits())

    def heartbeat_s(self) -> float:
        return self.lease_ttl_s() / 3

    def valid_s(self) -> float:
        """How long an issued credit stays spendable: short against the shortest window, so
        the extra span it costs (valid_s on top of each window) stays small."""
        spans = [w.window_s for w in self.windows()]
        if not spans:
            return VALID_MAX_S
        return min(VALID_MAX_S, max(VALID_MIN_S, min(spans) / 20))

    def concurrency_limit(self) -> int | None:
        return self._adaptive.limit()

    def register(self, run: str, limits: ProviderLimits, now: float) -> None:
        reg = self.state.registrations.get(run)
        if reg is None or reg.limits != limits:
            self.state.registrations[run] = Registration(run=run, limits=limits, last_seen=now)
            self._reconfigured()
        else:
            reg.last_seen = now

    def deregister(self, run: str) -> None:
        if self.state.registrations.pop(run, None) is not None:
            self._reconfigured()

    # -- the client protocol --------------------------------------------------------------

    def apply(self, report: ClientReport, now: float) -> bool:
        """Take in a client's report once (returns, corrections, in flight, acks, outcomes).
        Returns whether the pool knew the client (False: new, or its share was reclaimed)."""
        self.expire(now)
        self.register(report.run, report.limits, now)
        client = self.state.clients.get(report.client)
        known = client is not None
        if client is None:
            client = ClientState(client=report.client, run=report.run, last_seen=now)
            self.state.clients[report.client] = client
        client.last_seen = now
        client.run = report.run
        self._apply_returns(report)
        self._account_allocation(client, report, known)
        self._observe(report, now)
        if report.final:
            del self.state.clients[report.client]
        return known

    def grant(self, report: ClientReport, now: float, *, known: bool = True) -> Grant:
        """The answer to `report` as things stand now: allocation and credits. Issuing
        credits changes the state, so call it only for an answer that will be sent."""
        client = self.state.clients.get(report.client)
        if report.final:
            return Grant(known=known, allocation=0, heartbeat_s=self.heartbeat_s(), lease_ttl_s=self.lease_ttl_s())
        if client is None:  # expired while its sync was parked: start it afresh
            self.apply(msgspec.structs.replace(report, returned=[], token_corrections=[], completed_ok=0,
                                               rate_limited=0), now)
            client = self.state.clients[report.client]
            known = False
        client.last_seen = now
        grant = Grant(known=known, heartbeat_s=self.heartbeat_s(), lease_ttl_s=self.lease_ttl_s(),
                      valid_s=self.valid_s(), credits_needed=bool(self.windows()),
                      pause_epoch=self.state.pause_epoch)
        grant.allocation = self._allocate(client, known)
        grant.batches = self._issue(client, report, now)
        if now < self.state.paused_until:
            grant.paused_for_s = self.state.paused_until - now
            grant.pause_reason = self.state.pause_reason
        return grant

    def sync(self, report: ClientReport, now: float) -> Grant:
        """`apply` then `grant`: one exchange, for callers that never park."""
        known = self.apply(report, now)
        return self.grant(report, now, known=known)

    def _apply_returns(self, report: ClientReport) -> None:
        if not report.returned and not report.token_corrections:
            return
        by_id = {b.id: b for b in self.state.batches}
        for ret in report.returned:
            batch = by_id.get(ret.batch)
            if batch is not None and batch.client == report.client:
                batch.requests = max(0, batch.requests - max(0, ret.requests))
                batch.tokens = max(0, batch.tokens - max(0, ret.tokens))
        for batch_id, delta in report.token_corrections:
            batch = by_id.get(batch_id)
            if batch is not None:
                batch.tokens = max(0, batch.tokens + delta)

    def _account_allocation(self, client: ClientState, report: ClientReport, known: bool) -> None:
        local_max = report.max_local if report.max_local is not None else report.in_flight + report.waiting
        client.demand = min(report.in_flight + report.waiting, max(local_max, report.in_flight))
        client.in_flight = report.in_flight
        if not known:
            # a client we had dropped (or a restarted pool without its snapshot): what it
            # runs now is real load and is counted as held from this moment
            client.held = report.in_flight
            client.sent = None
        elif report.allocation_ack is not None and report.allocation_ack == client.sent:
            client.held = max(report.allocation_ack, report.in_flight)
        else:
            client.held = max(client.held, report.in_flight, report.allocation_ack or 0)

    def _observe(self, report: ClientReport, now: float) -> None:
        in_flight = sum(c.in_flight for c in self.state.clients.values())
        if report.rate_limited:
            self._adaptive.on_rate_limited(now, report.rate_limited, in_flight)
        if report.completed_ok:
            demand = sum(c.demand for c in self.state.clients.values())
            self._adaptive.on_completed(now, report.completed_ok, demand=demand,
                                        low_remaining=report.low_remaining)

    def _allocate(self, client: ClientState, known: bool = True) -> int | None:
        """Max-min fair shares of the limit over the clients' demands; a client's share
        grows only from free slots, and shrinks at once (counted as held until acked). A
        client the pool did not know gets no more than is free, even below what it runs:
        its allowance then revokes the excess, so real load never passes the limit."""
        limit = self.concurrency_limit()
        if limit is None:
            client.sent = None
            client.held = client.in_flight
            return None
        share = fair_shares(limit, {c.client: c.demand for c in self.state.clients.values()})[client.client]
        held_by_others = sum(c.held for c in self.state.clients.values() if c is not client)
        free_for_client = max(0, limit - held_by_others)
        if share > client.held or not known:
            allocation = min(share, free_for_client)
        else:
            allocation = share
        allocation = max(allocation, 0)
        client.sent = allocation
        client.held = max(client.held, allocation)
        return allocation

    def _issue(self, client: ClientState, report: ClientReport, now: float) -> list[CreditBatch]:
        """Request credits up to what every window has room for. Tokens are granted down to
        `min_tokens` (the head call's need) and never below it, so a big request is not
        starved by crumbs; an empty window admits even an over-budget request (no deadlock)."""
        windows = self.windows()
        if not windows or (report.want_requests <= 0 and report.want_tokens <= 0):
            return []
        if now < self.state.paused_until:
            return []
        valid = self.valid_s()
        prune(self.state.batches, windows, now, valid)
        requests = max(0, report.want_requests)
        tokens = max(0, report.want_tokens)
        for w in windows:
            used_r, used_t = used_in(self.state.batches, w, now, valid)
            if w.requests is not None:
                requests = min(requests, max(0, w.requests - used_r))
            if w.tokens is not None and tokens > 0:
                room = w.tokens - used_t
                if used_t == 0:  # the head call goes even over budget (no deadlock), and no more
                    tokens = min(tokens, max(room, report.min_tokens))
                else:
                    tokens = min(tokens, room) if room >= max(1, report.min_tokens) else 0
        if requests <= 0 and tokens <= 0:
            return []
        batch = CreditBatch(id=f"b{self.state.next_batch}", client=client.client, issued_at=now,
                            requests=requests, tokens=tokens)
        self.state.next_batch += 1
        self.state.batches.append(batch)
        self.state.granted_requests += batch.requests
        return [batch]

    def next_change_at(self, now: float) -> float | None:
        """The next moment a window may free credits, so a parked sync knows when to look again."""
        return next_change_at(self.state.batches, self.windows(), now, self.valid_s())

    # -- pauses, expiry, stats --------------------------------------------------------------

    def pause(self, seconds: float, reason: str, now: float) -> bool:
        """No credit or new call anywhere before now+seconds; extends, never shortens.
        Returns True when the pause moved (clients must hear of it)."""
        until = now + max(0.0, float(seconds))
        if until > self.state.paused_until:
            self.state.paused_until = until
            self.state.pause_reason = reason
            self.state.pause_epoch += 1
            return True
        return False

    def release_client(self, client: str) -> bool:
        """A client known to be dead: its share comes back now, not after the TTL."""
        return self.state.clients.pop(client, None) is not None

    def release_clients(self, prefix: str) -> int:
        gone = [c for c in self.state.clients if c.startswith(prefix)]
        for c in gone:
            del self.state.clients[c]
        return len(gone)

    def expire(self, now: float) -> list[str]:
        """Drop clients silent for longer than the TTL, and runs with no client left."""
        ttl = self.lease_ttl_s()
        dead = [c.client for c in self.state.clients.values() if now - c.last_seen > ttl]
        for c in dead:
            del self.state.clients[c]
        self.state.reclaimed_clients += len(dead)
        live_runs = {c.run for c in self.state.clients.values()}
        stale = [r for r, reg in self.state.registrations.items()
                 if r not in live_runs and now - reg.last_seen > 3 * ttl]
        for r in stale:
            del self.state.registrations[r]
        if stale:
            self._reconfigured()
        return dead

    def stats(self, now: float) -> dict[str, object]:
        valid = self.valid_s()
        used = [used_in(self.state.batches, w, now, valid) for w in self.windows()]
        return {
            "clients": len(self.state.clients),
            "in_flight": sum(c.in_flight for c in self.state.clients.values()),
            "held": sum(c.held for c in self.state.clients.values()),
            "concurrency_limit": self.concurrency_limit(),
            "configured_concurrency": self._configured_cap(),
            "window_requests_used": max((u[0] for u in used), default=0),
            "granted_requests": self.state.granted_requests,
            "paused_for_s": max(0.0, self.state.paused_until - now),
            "reclaimed_clients": self.state.reclaimed_clients,
            "runs": sorted(self.state.registrations),
            "adaptive": msgspec.to_builtins(self._adaptive.state),
        }


__all__ = ["LimitPool"]
