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
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from harness.aimd import AdaptiveConcurrency, AdaptiveSettings, AdaptiveState
from harness.limit_contract import ProviderLimits

# a credit's validity is never under 0.2 s: a sync's reply on a loaded 2-core machine can take
# longer than 50 ms (the old floor), and credits that arrive already expired, every time,
# starve the run ("no permit within 60 s" under a CPU hog). It only costs windows under 4 s.
VALID_MIN_S = 0.2
VALID_MAX_S = 1.0


class Returned(msgspec.Struct, frozen=True):
    """Credits of a batch the client will never use (expired, or no longer wanted)."""

    batch: str
    requests: int = 0
    tokens: int = 0


class ClientReport(msgspec.Struct, kw_only=True):
    """What a client tells the pool on each sync: its state, its wants, what it returns."""

    client: str
    run: str
    limits: ProviderLimits
    in_flight: int = 0
    waiting: int = 0
    max_local: int | None = None  # the most this client would ever run at once
    allocation_ack: int | None = None  # the allocation it applies now (None: none received)
    want_requests: int = 0
    want_tokens: int = 0
    min_tokens: int = 0  # the head call's shortfall: fewer tokens than this are of no use
    returned: list[Returned] = msgspec.field(default_factory=list)
    token_corrections: list[tuple[str, int]] = msgspec.field(default_factory=list)
    completed_ok: int = 0
    rate_limited: int = 0
    low_remaining: bool = False
    pause_epoch_ack: int = 0
    final: bool = False  # the client is closing: take everything back


class CreditBatch(msgspec.Struct, kw_only=True):
    id: str
    client: str
    issued_at: float
    requests: int
    tokens: int


class Grant(msgspec.Struct, kw_only=True):
    """The pool's answer: the client's allocation, new credits, the provider pause."""

    known: bool = True  # False: the pool had dropped this client (its share was reclaimed)
    allocation: int | None = None  # None: no concurrency limit
    batches: list[CreditBatch] = msgspec.field(default_factory=list)
    valid_s: float = VALID_MAX_S
    credits_needed: bool = False  # False: no window is configured, credits are not checked
    paused_for_s: float = 0.0
    pause_reason: str = ""
    heartbeat_s: float = 1.0
    lease_ttl_s: float = 10.0
    pause_epoch: int = 0
    held_s: float = 0.0  # how long the pool held the sync before answering (its credits' clock starts then)

    def is_news(self, report: ClientReport) -> bool:
        """Worth answering a parked sync for: something the client does not have yet."""
        return (not self.known or bool(self.batches) or self.allocation != report.allocation_ack
                or self.pause_epoch != report.pause_epoch_ack)


class ClientState(msgspec.Struct, kw_only=True):
    client: str
    run: str
    last_seen: float
    demand: int = 0
    in_flight: int = 0
    sent: int | None = None  # the allocation last sent
    held: int = 0  # slots counted as taken: what the client may be using right now


class Registration(msgspec.Struct, kw_only=True):
    run: str
    limits: ProviderLimits
    last_seen: float


class PoolState(msgspec.Struct, kw_only=True):
    """Everything the pool knows; a restarted limiter loads it and carries on."""

    registrations: dict[str, Registration] = msgspec.field(default_factory=dict)
    clients: dict[str, ClientState] = msgspec.field(default_factory=dict)
    batches: list[CreditBatch] = msgspec.field(default_factory=list)
    paused_until: float = 0.0  # monotonic seconds; 0 is "never paused" (JSON has no -inf)
    pause_reason: str = ""
    pause_epoch: int = 0
    adaptive: AdaptiveState | None = None
    next_batch: int = 0
    granted_requests: int = 0
    reclaimed_clients: int = 0


class Window(msgspec.Struct, frozen=True):
    """One sliding-window constraint: at most `requests` and `tokens` per `window_s`."""

    requests: int | None
    tokens: int | None
    window_s: float
    margin_s: float


def _encode_hook(obj: object) -> object:
    if isinstance(obj, ProviderLimits):
        return obj.model_dump(mode="json")
    raise NotImplementedError(type(obj))


def _decode_hook(kind: type, obj: object) -> object:
    if kind is ProviderLimits:
        return ProviderLimits.model_validate(obj)
    raise NotImplementedError(kind)


_state_encoder = msgspec.json.Encoder(enc_hook=_encode_hook)
_state_decoder = msgspec.json.Decoder(PoolState, dec_hook=_decode_hook)


def encode_state(state: PoolState) -> bytes:
    """The pool's state as JSON, for the limiter actor's snapshot file."""
    return _state_encoder.encode(state)


def decode_state(data: bytes) -> PoolState:
    return _state_decoder.decode(data)


def windows_of(limits: Iterable[ProviderLimits]) -> list[Window]:
    found: dict[Window, None] = {}
    for lim in limits:
        if lim.requests_per_window is not None or lim.tokens_per_window is not None:
            found[Window(lim.requests_per_window, lim.tokens_per_window, lim.window_s, lim.safety_margin_s)] = None
    return list(found)


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
        self._prune(now, windows)
        valid = self.valid_s()
        requests = max(0, report.want_requests)
        tokens = max(0, report.want_tokens)
        for w in windows:
            used_r, used_t = self._used(w, now, valid)
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

    def _used(self, w: Window, now: float, valid: float) -> tuple[int, int]:
        horizon = now - (w.window_s + w.margin_s + valid)
        requests = tokens = 0
        for batch in reversed(self.state.batches):
            if batch.issued_at <= horizon:
                break
            requests += batch.requests
            tokens += batch.tokens
        return requests, tokens

    def _prune(self, now: float, windows: list[Window]) -> None:
        longest = max(w.window_s + w.margin_s for w in windows) + self.valid_s()
        horizon = now - longest
        keep = next((i for i, b in enumerate(self.state.batches) if b.issued_at > horizon), len(self.state.batches))
        if keep:
            del self.state.batches[:keep]

    def next_change_at(self, now: float) -> float | None:
        """The next moment a window may free credits (its oldest counted batch ages out),
        so a parked sync that wants credits knows when to look again; None: never."""
        valid = self.valid_s()
        moments: list[float] = []
        for w in self.windows():
            span = w.window_s + w.margin_s + valid
            for batch in self.state.batches:  # oldest first
                if batch.issued_at > now - span and (batch.requests or batch.tokens):
                    moments.append(batch.issued_at + span)
                    break
        return min(moments) if moments else None

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
        used = [self._used(w, now, valid) for w in self.windows()]
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


def fair_shares(limit: int, demands: dict[str, int]) -> dict[str, int]:
    """Max-min fair integer shares of `limit` (water-filling); leftovers go by name, so
    the answer is the same on every call."""
    shares = {name: 0 for name in demands}
    left = limit
    active = sorted(name for name, want in demands.items() if want > 0)
    while left > 0 and active:
        each = max(1, left // len(active))
        for name in list(active):
            if left == 0:
                break
            give = min(each, demands[name] - shares[name], left)
            shares[name] += give
            left -= give
            if shares[name] >= demands[name]:
                active.remove(name)
    return shares


__all__ = ["ClientReport", "CreditBatch", "Grant", "LimitPool", "PoolState", "Returned", "decode_state",
           "encode_state", "fair_shares"]
