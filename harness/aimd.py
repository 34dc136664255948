"""Adaptive concurrency for one provider key: slow start, then AIMD.

Why: a provider's real concurrency or rate ceiling is often unknown or lower than the
configured cap (a shared key, a busy region). Hammering it at the configured cap turns
the ceiling into a storm of 429s; shrinking on every 429 and growing back only after a
clean round finds the ceiling with a handful. The shape follows inspect_ai's adaptive
connections: start small and double while clean (slow start), x`decrease` on a rate
limit with a cooldown of one round so a burst of 429s from one overload counts once,
and x(1 + `increase`) per `clean_rounds` clean rounds back up to the configured cap.

Pure and clock-injected: the limit pool owns one instance and feeds it the outcomes its
clients report; the history of changes is kept for the run's events and summary.
"""

from __future__ import annotations

import math

import msgspec
from pydantic import BaseModel, ConfigDict, Field


class AdaptiveSettings(BaseModel):
    """`limits.adaptive` in the config: on by default, with a floor."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    floor: int = Field(default=1, ge=1, description="never fewer calls in flight than this")
    initial: int = Field(default=4, ge=1, description="slow start from here when no max_concurrent is set")
    decrease: float = Field(default=0.8, gt=0, lt=1, description="factor applied on a rate limit")
    increase: float = Field(default=0.05, ge=0, description="growth per clean step, as a fraction")
    clean_rounds: int = Field(default=2, ge=1, description="clean rounds needed before each growth step")


class Change(msgspec.Struct, frozen=True, kw_only=True):
    at: float
    old: float | None
    new: float | None
    reason: str


class AdaptiveState(msgspec.Struct, kw_only=True):
    """Serializable state (the pool snapshots it, so a restarted limiter keeps it)."""

    cap: float | None = None  # None: no ceiling learned or configured
    slow_start: bool = True
    clean_completions: int = 0
    clean_rounds: int = 0
    cooldown_completions: int = 0
    rate_limited_total: int = 0
    history: list[Change] = msgspec.field(default_factory=list)


HISTORY_MAX = 200


class AdaptiveConcurrency:
    """The allowed concurrency, moved by what the calls report."""

    def __init__(self, settings: AdaptiveSettings, configured: int | None,
                 state: AdaptiveState | None = None) -> None:
        self.settings = settings
        self.configured = configured
        if state is None:
            start = configured if configured is not None else settings.initial
            state = AdaptiveState(cap=float(start) if settings.enabled else None,
                                  slow_start=configured is None)
        self.state = state

    def limit(self) -> int | None:
        """Calls allowed in flight across the cluster now (None: no limit)."""
        if not self.settings.enabled:
            return self.configured
        cap = self.state.cap
        if cap is None:
            return self.configured
        allowed = max(self.settings.floor, math.floor(cap + 1e-9))
        return allowed if self.configured is None else min(self.configured, allowed)

    def reconfigure(self, settings: AdaptiveSettings, configured: int | None) -> None:
        """A new strictest configuration: keep what was learned, but never above the cap."""
        self.settings = settings
        self.configured = configured
        if not settings.enabled:
            return
        if self.state.cap is None:
            self.state.cap = float(configured if configured is not None else settings.initial)
        elif configured is not None and self.state.cap > configured:
            self._set(float(configured), 0.0, "configured cap lowered")

    def _set(self, new: float, at: float, reason: str) -> None:
        old = self.state.cap
        self.state.cap = new
        self.state.history.append(Change(at=at, old=old, new=new, reason=reason))
        del self.state.history[:-HISTORY_MAX]

    def on_rate_limited(self, at: float, count: int = 1, in_flight: int | None = None) -> None:
        """A 429 (not a quota error): shrink once per round, however many arrive together.
        The shrink starts from what was really in flight when the cap was far above it."""
        if not self.settings.enabled or count <= 0:
            return
        self.state.rate_limited_total += count
        self.state.clean_completions = 0
        self.state.clean_rounds = 0
        if self.state.cooldown_completions > 0:
            return
        cap = self.state.cap if self.state.cap is not None else float(self.settings.initial)
        if in_flight is not None and in_flight > 0:
            cap = min(cap, float(in_flight))
        new = max(float(self.settings.floor), cap * self.settings.decrease)
        self.state.slow_start = False
        self._set(new, at, f"rate limited ({count})")
        self.state.cooldown_completions = max(1, self.limit() or 1)

    def on_completed(self, at: float, count: int, *, demand: int, low_remaining: bool = False) -> None:
        """Calls that finished without a rate limit. A clean round (as many completions as
        the current limit) grows the cap: doubling in slow start, else by `increase`, but
        only while the cap binds (`demand`, calls in flight plus waiting, reaches it): a
        cap far above what is asked for has proved nothing."""
        if not self.settings.enabled or count <= 0 or self.state.cap is None:
            return
        if self.state.cooldown_completions > 0:  # the round right after a cut proves nothing
            spent = min(self.state.cooldown_completions, count)
            self.state.cooldown_completions -= spent
            count -= spent
            if count == 0:
                return
        if low_remaining:  # the provider says we are near its ceiling: hold, do not probe
            self.state.clean_completions = 0
            return
        limit = self.limit()
        if limit is not None and demand < limit:
            self.state.clean_completions = 0
            return
        self.state.clean_completions += count
        round_size = max(1, self.limit() or 1)
        while self.state.clean_completions >= round_size:
            self.state.clean_completions -= round_size
            self.state.clean_rounds += 1
            if self.state.clean_rounds < (1 if self.state.slow_start else self.settings.clean_rounds):
                continue
            self.state.clean_rounds = 0
            self._grow(at)
            round_size = max(1, self.limit() or 1)

    def _grow(self, at: float) -> None:
        cap = self.state.cap
        assert cap is not None
        if self.configured is not None and cap >= self.configured:
            return
        # in congestion avoidance the cap creeps up by `increase` per step (fractions kept), so
        # near a ceiling it probes one call higher only every few rounds, not every round
        new = cap * 2 if self.state.slow_start else cap * (1 + self.settings.increase)
        if self.configured is not None:
            new = min(new, float(self.configured))
        self._set(new, at, "slow start" if self.state.slow_start else "clean round")
