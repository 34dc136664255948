"""Provider-style rate and concurrency limits.

Why a sliding window over *accepted* arrivals: that is how providers meter requests per
minute, and it gives an exact answer to "when may I retry?" (the moment the oldest
accepted arrival leaves the window), which the harness must never undercut.
"""

from __future__ import annotations

import fnmatch
from collections import deque
from dataclasses import dataclass, field

from simulator.config import LimitConfig, SimConfig


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a request was refused and how long the client should wait."""

    reason: str  # "rate" or "concurrency"
    retry_after_s: float


@dataclass
class _Scope:
    cfg: LimitConfig
    arrivals: deque[int] = field(default_factory=deque)
    in_flight: int = 0

    def check(self, now_ns: int) -> Rejection | None:
        if self.cfg.requests_per_window is not None:
            horizon = now_ns - int(self.cfg.window_s * 1e9)
            while self.arrivals and self.arrivals[0] <= horizon:
                self.arrivals.popleft()
            if len(self.arrivals) >= self.cfg.requests_per_window:
                wait_ns = self.arrivals[0] - horizon
                return Rejection("rate", wait_ns / 1e9)
        if self.cfg.max_concurrent is not None and self.in_flight >= self.cfg.max_concurrent:
            return Rejection("concurrency", 1.0)
        return None


class Limiter:
    """Global scope plus one scope per concrete model matched by `per_model_limits`.

    Per-model windows are kept per model *name*, even when configured by a pattern, as
    providers meter each model separately.
    """

    def __init__(self, cfg: SimConfig) -> None:
        self._cfg = cfg
        self._global = _Scope(cfg.limits)
        self._models: dict[str, _Scope | None] = {}

    def _model_scope(self, model: str) -> _Scope | None:
        if model not in self._models:
            found: LimitConfig | None = self._cfg.per_model_limits.get(model)
            if found is None:
                for pattern, lim in self._cfg.per_model_limits.items():
                    if fnmatch.fnmatchcase(model, pattern):
                        found = lim
                        break
            self._models[model] = _Scope(found) if found is not None else None
        return self._models[model]

    def try_acquire(self, model: str, now_ns: int) -> Rejection | None:
        """Admit (record arrival, count in-flight) or return the rejection; a rejected
        request leaves no trace in any window."""
        scopes = [self._global]
        model_scope = self._model_scope(model)
        if model_scope is not None:
            scopes.append(model_scope)
        for scope in scopes:
            rejection = scope.check(now_ns)
            if rejection is not None:
                return rejection
        for scope in scopes:
            if scope.cfg.requests_per_window is not None:
                scope.arrivals.append(now_ns)
            scope.in_flight += 1
        return None

    def remaining_headers(self) -> dict[str, str]:
        """What providers send on every answer about the request window (OpenAI's and
        Anthropic's names both): its size and what is left of it after this request."""
        cfg = self._global.cfg
        if cfg.requests_per_window is None:
            return {}
        left = str(max(0, cfg.requests_per_window - len(self._global.arrivals)))
        limit = str(cfg.requests_per_window)
        return {"x-ratelimit-limit-requests": limit, "x-ratelimit-remaining-requests": left,
                "anthropic-ratelimit-requests-limit": limit, "anthropic-ratelimit-requests-remaining": left}

    def release(self, model: str) -> None:
        self._global.in_flight -= 1
        model_scope = self._models.get(model)
        if model_scope is not None:
            model_scope.in_flight -= 1

    def reset(self) -> None:
        """Empty windows; in-flight counts are kept because those requests still run."""
        self._global.arrivals.clear()
        for scope in self._models.values():
            if scope is not None:
                scope.arrivals.clear()
