"""Limiter interface and limits schema (the Ray actor in cluster/ wraps `LimiterCore`).

Why an interface here: the call path must pass through a provider's limiter whether it
runs in a test (in-process) or on a cluster (a named Ray actor shared by all nodes).
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


class ProviderLimits(BaseModel):
    """Per provider (and key) limits. `window_s` is 60 for real RPM/TPM; tests shrink it."""

    model_config = ConfigDict(extra="forbid")

    max_concurrent: int | None = Field(default=None, ge=1)
    requests_per_window: int | None = Field(default=None, ge=1, description="RPM when window_s=60")
    tokens_per_window: int | None = Field(default=None, ge=1, description="TPM when window_s=60")
    window_s: float = Field(default=60.0, gt=0)
    lease_ttl_s: float = Field(default=30.0, gt=0, description="a lease not renewed this long is reclaimed")
    safety_margin_s: float = Field(default=0.25, ge=0, description="slack for the jitter between our grant and the server's arrival stamp (Ray RPC, event loop)")


class Lease(BaseModel):
    lease_id: str
    holder: str
    tokens: int = 0


class Limiter(Protocol):
    """Async permit source. Every attempt acquires one lease and releases it."""

    async def acquire(self, holder: str, tokens: int = 0) -> Lease: ...

    async def release(self, lease_id: str, tokens_used: int | None = None) -> None: ...

    async def renew(self, lease_id: str) -> bool: ...

    async def pause(self, seconds: float, reason: str = "") -> None: ...
