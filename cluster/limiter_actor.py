"""One named limiter actor per provider and API key, shared by every node of the cluster.

Why a named actor: a semaphore is only a limit if everyone asks the same one; Ray's named
actors give one instance per (provider, key hash) that any subagent on any node can look
up. Leases (not plain permits) mean a subagent killed mid-call gives its permit back.
"""

from __future__ import annotations

from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from harness.limiter import LimiterCore
from harness.limits import Lease, ProviderLimits

NAMESPACE = "fleetbench"


def limiter_name(connection_key: str) -> str:
    return f"limiter:{connection_key}"


@ray.remote(num_cpus=0, max_concurrency=100_000)  # type: ignore[call-overload]
class LimiterActor:
    """Async actor: thousands of waiters can park in `acquire` without threads."""

    def __init__(self, limits: ProviderLimits) -> None:
        self._core = LimiterCore(limits)

    async def configure(self, limits: ProviderLimits) -> None:
        if limits != self._core.limits:
            self._core = LimiterCore(limits)

    async def acquire(self, holder: str, tokens: int = 0) -> Lease:
        return await self._core.acquire(holder, tokens)

    async def release(self, lease_id: str, tokens_used: int | None = None) -> None:
        await self._core.release(lease_id, tokens_used)

    async def renew(self, lease_id: str) -> bool:
        return await self._core.renew(lease_id)

    async def pause(self, seconds: float, reason: str = "") -> None:
        await self._core.pause(seconds, reason)

    async def release_holder(self, holder: str) -> int:
        return self._core.release_holder(holder)

    async def stats(self) -> dict[str, Any]:
        return self._core.stats()


class RayLimiter:
    """The `Limiter` protocol over a limiter actor handle (used inside subagents)."""

    def __init__(self, handle: Any, lease_ttl_s: float) -> None:
        self._handle = handle
        self.lease_ttl_s = lease_ttl_s

    async def acquire(self, holder: str, tokens: int = 0) -> Lease:
        lease: Lease = await self._handle.acquire.remote(holder, tokens)
        return lease

    async def release(self, lease_id: str, tokens_used: int | None = None) -> None:
        await self._handle.release.remote(lease_id, tokens_used)

    async def renew(self, lease_id: str) -> bool:
        renewed: bool = await self._handle.renew.remote(lease_id)
        return renewed

    async def pause(self, seconds: float, reason: str = "") -> None:
        await self._handle.pause.remote(seconds, reason)


def ensure_limiter(connection_key: str, limits: ProviderLimits, *, detached: bool) -> Any:
    """Get or create the cluster-wide limiter for this provider key, with current limits.

    Pinned to the driver's node, like the collector: a run cannot outlive its driver anyway,
    while a limiter left on a worker node would take every call of its provider down with
    that node."""
    options: dict[str, Any] = {"name": limiter_name(connection_key), "namespace": NAMESPACE,
                               "get_if_exists": True,
                               "scheduling_strategy": NodeAffinitySchedulingStrategy(
                                   node_id=ray.get_runtime_context().get_node_id(), soft=False)}
    if detached:
        options["lifetime"] = "detached"
    handle = LimiterActor.options(**options).remote(limits)  # type: ignore[attr-defined]
    ray.get(handle.configure.remote(limits))
    return handle


def lookup_limiter(connection_key: str) -> Any:
    return ray.get_actor(limiter_name(connection_key), namespace=NAMESPACE)
