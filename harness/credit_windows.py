"""The arithmetic of the pool's sliding windows and concurrency shares, over its batch log.

Why apart from the pool: this is where exactness lives. A credit issued at `t` is
spendable until `t + valid_s` and stays counted until `t + valid_s + window_s +
safety_margin_s`, so any `window_s` span of server arrivals holds at most the window's
limit however late the credit is spent. These functions are pure over the issued batches
(oldest first), so the proofs in tests/harness/test_limit_pool.py read against them alone.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from harness.limit_contract import ProviderLimits
from harness.pool_state import CreditBatch


class Window(msgspec.Struct, frozen=True):
    """One sliding-window constraint: at most `requests` and `tokens` per `window_s`."""

    requests: int | None
    tokens: int | None
    window_s: float
    margin_s: float


def windows_of(limits: Iterable[ProviderLimits]) -> list[Window]:
    """Each distinct window of the registered configurations; all of them hold at once."""
    found: dict[Window, None] = {}
    for lim in limits:
        if lim.requests_per_window is not None or lim.tokens_per_window is not None:
            found[Window(lim.requests_per_window, lim.tokens_per_window, lim.window_s, lim.safety_margin_s)] = None
    return list(found)


def used_in(batches: list[CreditBatch], w: Window, now: float, valid: float) -> tuple[int, int]:
    """Requests and tokens still counted against `w` at `now` (newest batches first, so the
    walk stops at the first batch that has aged out)."""
    horizon = now - (w.window_s + w.margin_s + valid)
    requests = tokens = 0
    for batch in reversed(batches):
        if batch.issued_at <= horizon:
            break
        requests += batch.requests
        tokens += batch.tokens
    return requests, tokens


def prune(batches: list[CreditBatch], windows: list[Window], now: float, valid: float) -> None:
    """Drop, in place, the batches no window counts any more."""
    longest = max(w.window_s + w.margin_s for w in windows) + valid
    horizon = now - longest
    keep = next((i for i, b in enumerate(batches) if b.issued_at > horizon), len(batches))
    if keep:
        del batches[:keep]


def next_change_at(batches: list[CreditBatch], windows: list[Window], now: float, valid: float) -> float | None:
    """The next moment a window may free credits (its oldest counted batch ages out), so a
    parked sync that wants credits knows when to look again; None: never."""
    moments: list[float] = []
    for w in windows:
        span = w.window_s + w.margin_s + valid
        for batch in batches:  # oldest first
            if batch.issued_at > now - span and (batch.requests or batch.tokens):
                moments.append(batch.issued_at + span)
                break
    return min(moments) if moments else None


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


__all__ = ["Window", "fair_shares", "next_change_at", "prune", "used_in", "windows_of"]
