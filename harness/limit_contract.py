"""Limits schema and the `Limiter` protocol every call goes through.

Why an interface here: the call path must pass through a provider's limiter whether it
runs in a test (in-process) or on a cluster (a local allowance drawn from a named Ray
actor shared by all nodes). See harness/limit_pool.py (the pool) and harness/allowance.py
(a process's allowance).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from harness.aimd import AdaptiveSettings


class ProviderLimits(BaseModel):
    """Per provider (and key) limits. `window_s` is 60 for real RPM/TPM; tests shrink it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_concurrent: int | None = Field(default=None, ge=1)
    requests_per_window: int | None = Field(default=None, ge=1, description="RPM when window_s=60")
    tokens_per_window: int | None = Field(default=None, ge=1, description="TPM when window_s=60")
    window_s: float = Field(default=60.0, gt=0)
    lease_ttl_s: float = Field(default=10.0, gt=0, description="a client (subagent) not heard from this long "
                                                              "loses its allowance")
    safety_margin_s: float = Field(default=0.25, ge=0, description="slack for the jitter between our grant and "
                                                                  "the server's arrival stamp")
    adaptive: AdaptiveSettings = Field(default_factory=AdaptiveSettings,
                                       description="shrink concurrency on 429s, grow it back when clean")


@dataclass(eq=False)
class Lease:
    """One call's permit, local to the process that holds it.

    `revoked` is set when the allowance behind it was reclaimed (a limiter that lost track
    of us, or our own heartbeat lapsing): the call must stop and acquire again rather than
    run on without a permit. `task` is the task to interrupt when that happens.
    """

    lease_id: str
    holder: str
    tokens: int = 0
    granted_at: float = 0.0  # the allowance's own clock when it granted this permit
    revoked: bool = False
    task: asyncio.Task[object] | None = field(default=None, repr=False)
    consumed: list[tuple[str, int]] = field(default_factory=list, repr=False)  # (credit batch, tokens)


class LimiterUnavailable(Exception):
    """The limiter could not grant before the caller's deadline."""


class Limiter(Protocol):
    """Async permit source. Every attempt acquires one lease and releases it."""

    async def acquire(self, holder: str, tokens: int = 0, *, timeout_s: float | None = None) -> Lease: ...

    async def release(self, lease_id: str, tokens_used: int | None = None) -> None: ...

    async def renew(self, lease_id: str) -> bool: ...

    async def pause(self, seconds: float, reason: str = "") -> None: ...
