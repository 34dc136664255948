"""One named limiter actor per provider and API key, shared by every node of the cluster.

Why a named actor: a limit is only a limit if everyone draws on the same pool; Ray's
named actors give one instance per (provider, key hash) that any subagent on any node can
find. Subagents never call it per request: each holds an allowance (harness/allowance.py)
kept fresh by one parked `sync` (harness/limit_service.py).

Why it survives its own death: the actor restarts (max_restarts=-1) on the driver's node
and reloads a snapshot of its pool written before every answer it gives, so a restarted
limiter knows every share and every credit it handed out and no limit is exceeded while
it recovers. Subagents see the outage as a failed sync and retry it with backoff; if the
actor is gone for good they create it again from the same spec.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from harness.allowance import LinkDown
from harness.limit_contract import ProviderLimits
from harness.limit_pool import LimitPool
from harness.limit_service import PoolService
from harness.pool_state import ClientReport, Grant, PoolState, decode_state, encode_state

NAMESPACE = "fleetbench"
STATE_DIR = Path(tempfile.gettempdir()) / "fleetbench-limiters"


def limiter_name(connection_key: str) -> str:
    return f"limiter:{connection_key}"


@dataclass(frozen=True)
class LimiterSpec:
    """How to find (or make again) one provider key's limiter: plain data for any node."""

    connection_key: str
    limits: ProviderLimits
    node_id: str
    detached: bool
    instance: str

    @property
    def name(self) -> str:
        return limiter_name(self.connection_key)

    @property
    def snapshot_path(self) -> Path:
        return STATE_DIR / f"{self.instance}.json"


def _write_snapshot(path: Path, state: PoolState) -> None:
    """Replace the snapshot atomically. No fsync: it must survive the process, not the host
    (a host that dies takes the driver and the run with it)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(encode_state(state))
    os.replace(tmp, path)


@ray.remote(num_cpus=0, max_concurrency=100_000, max_restarts=-1, max_task_retries=0)  # type: ignore[call-overload]
class LimiterActor:
    """Async actor: every client's sync parks here without a thread."""

    def __init__(self, limits: ProviderLimits, snapshot_path: str) -> None:
        path = Path(snapshot_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state: PoolState | None = None
        with contextlib.suppress(FileNotFoundError, ValueError, OSError):
            state = decode_state(path.read_bytes())
        self.restored = state is not None
        self._service = PoolService(LimitPool(state, default=limits),
                                    snapshot=lambda s: _write_snapshot(path, s))

    async def sync(self, report: ClientReport) -> Grant:
        return await self._service.sync(report)

    async def nudge(self, client: str) -> None:
        await self._service.nudge(client)

    async def pause(self, seconds: float, reason: str = "") -> None:
        await self._service.pause(seconds, reason)

    async def register(self, run: str, limits: ProviderLimits) -> None:
        self._service.register(run, limits)

    async def deregister(self, run: str) -> None:
        self._service.deregister(run)

    async def release_clients(self, prefix: str) -> int:
        return self._service.release_clients(prefix)

    async def stats(self) -> dict[str, Any]:
        return {**self._service.stats(), "restored_from_snapshot": self.restored, "pid": os.getpid()}


def _options(spec: LimiterSpec) -> dict[str, Any]:
    options: dict[str, Any] = {"name": spec.name, "namespace": NAMESPACE, "get_if_exists": True,
                               "scheduling_strategy": NodeAffinitySchedulingStrategy(node_id=spec.node_id,
                                                                                     soft=False)}
    if spec.detached:
        options["lifetime"] = "detached"
    return options


def make_spec(connection_key: str, limits: ProviderLimits, *, detached: bool) -> LimiterSpec:
    """Pinned to the driver's node, like the collector: a run cannot outlive its driver
    anyway, while a limiter left on a worker node would take every call of its provider
    down with that node."""
    return LimiterSpec(connection_key=connection_key, limits=limits,
                       node_id=ray.get_runtime_context().get_node_id(), detached=detached,
                       instance=uuid.uuid4().hex)


def ensure_limiter(spec: LimiterSpec, run_id: str | None = None, *, wait: bool = True) -> Any:
    """Get or create the cluster-wide limiter for this provider key; register the run's limits
    (without waiting when `wait` is False: every client's sync carries them anyway)."""
    handle = LimiterActor.options(**_options(spec)).remote(spec.limits, str(spec.snapshot_path))  # type: ignore[attr-defined]
    if run_id is not None:
        ref = handle.register.remote(run_id, spec.limits)
        if wait:
            ray.get(ref)
    return handle


class RayLink:
    """The allowance-to-pool link over Ray. Any failure is `LinkDown`: the allowance
    backs off and tries again; after repeated failures the actor is looked up (or made)
    again, for the case where it is gone for good."""

    def __init__(self, spec: LimiterSpec, handle: Any | None = None) -> None:
        self._spec = spec
        self._handle = handle
        self._failures = 0

    def _actor(self) -> Any:
        if self._handle is None or self._failures >= 3:
            try:
                self._handle = ray.get_actor(self._spec.name, namespace=NAMESPACE)
            except ValueError:
                self._handle = LimiterActor.options(**_options(self._spec)).remote(  # type: ignore[attr-defined]
                    self._spec.limits, str(self._spec.snapshot_path))
            self._failures = 0
        return self._handle

    async def _call(self, method: str, *args: Any) -> Any:
        try:
            return await getattr(self._actor(), method).remote(*args)
        except Exception as exc:  # noqa: BLE001 - RayActorError, ActorUnavailableError, lookups...
            self._failures += 1
            raise LinkDown(f"{type(exc).__name__}: {exc}") from None

    async def sync(self, report: ClientReport) -> Grant:
        grant: Grant = await self._call("sync", report)
        self._failures = 0
        return grant

    async def nudge(self, client: str) -> None:
        await self._call("nudge", client)

    async def pause(self, seconds: float, reason: str) -> None:
        await self._call("pause", seconds, reason)
