"""Actor wrapper around `agents.PhaseAgent`: one isolated process per phase subagent.

Why a thin wrapper: all phase logic is in agents/ (testable without Ray); this module only
wires in the cluster-wide limiters and the remote collector, and fans out to workers.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from agents.load import LoadShape
from agents.phase_agent import PhaseAgent, PhaseReport
from agents.phases.base import Phase
from agents.plan import WorkItem
from agents.providers import ResolvedProvider
from cluster.limiter_actor import NAMESPACE, LimiterSpec, RayLink
from harness.allowance import Allowance
from harness.catalogue import Catalogue
from harness.limit_contract import Limiter
from harness.logs import configure_process_logging
from harness.records import CallRecord
from harness.retry import RetryPolicy

CHUNK = 500


class CollectorSink:
    """Sends batches to the collector and waits for its fsync'd acknowledgement. Ray
    re-sends a batch whose collector died mid-call to the restarted one (which dedups);
    a collector that failed to write raises, and so stops the phase."""

    def __init__(self, collector: Any) -> None:
        self._collector = collector

    async def emit(self, records: list[CallRecord]) -> None:
        await self._collector.add.remote(records)


def holder_id(run_id: str, phase: str, generation: int, worker_index: int) -> str:
    return f"{run_id}:{phase}:g{generation}:w{worker_index}"


def _worker_name(run_id: str, phase: str, generation: int, worker_index: int) -> str:
    return f"subagent:{holder_id(run_id, phase, generation, worker_index)}"


def worker_handle(run_id: str, phase: str, generation: int, worker_index: int) -> Any | None:
    """A fan-out worker of that generation, if it exists (named, so the driver can stop it)."""
    try:
        return ray.get_actor(_worker_name(run_id, phase, generation, worker_index), namespace=NAMESPACE)
    except ValueError:
        return None


def wait_dead(handle: Any, timeout_s: float = 30.0) -> None:
    """Return once the actor is dead (a call on it fails), or after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            ray.get(handle.pid.remote(), timeout=2.0)
        except ray.exceptions.RayActorError:
            return
        except ray.exceptions.GetTimeoutError:
            pass
        time.sleep(0.05)


def chunk_items(items: Sequence[WorkItem], size: int = CHUNK) -> list[Any]:
    """Put the items in the object store in chunks: a worker holds one chunk at a time."""
    return [ray.put(list(items[i:i + size])) for i in range(0, len(items), size)]


async def _stream(chunks: Sequence[Any]) -> AsyncIterator[WorkItem]:
    for ref in chunks:
        items: list[WorkItem] = await ref
        for item in items:
            yield item


@ray.remote(num_cpus=0, max_restarts=0)
class PhaseSubagent:
    """Runs one phase's work items (or one slice of them when fanned out)."""

    def __init__(self, phase: Phase, run_id: str, providers: dict[str, ResolvedProvider],
                 limiters: dict[str, LimiterSpec], policy: RetryPolicy, concurrency: int, collector: Any,
                 generation: int, catalogue: Catalogue | None = None, worker_index: int = 0,
                 load: LoadShape | None = None) -> None:
        configure_process_logging()
        self.phase = phase
        self.run_id = run_id
        self.providers = providers
        self.limiters = limiters
        self.policy = policy
        self.concurrency = concurrency
        self.collector = collector
        self.generation = generation
        self.worker_index = worker_index
        self.catalogue = catalogue
        self.load = load

    def pid(self) -> int:
        return os.getpid()

    def node_id(self) -> str:
        return ray.get_runtime_context().get_node_id()

    async def run(self, chunks: Sequence[Any], workers: int = 1,
                  warm: Sequence[tuple[str, str]] = ()) -> list[PhaseReport]:
        """Run the items of `chunks` (object refs of item lists, see `chunk_items`), here or
        fanned out over `workers` worker actors, each taking every workers-th chunk."""
        if workers <= 1 or len(chunks) <= 1:
            return [await self._run_here(chunks, warm)]
        slices = [list(chunks[i::workers]) for i in range(workers)]
        # round-robin over the alive nodes, pinned (hard affinity): SPREAD and soft affinity are
        # both best-effort, and soft affinity put 3 or 4 of 4 workers on one node in a quick
        # trial on an idle 2-node cluster. A node that dies before its worker starts fails that
        # worker, and the driver restarts the phase on the nodes then alive.
        nodes = sorted(n["NodeID"] for n in ray.nodes() if n.get("Alive"))  # type: ignore[no-untyped-call]
        children = [
            PhaseSubagent.options(  # type: ignore[attr-defined]
                name=_worker_name(self.run_id, self.phase.name, self.generation, index), namespace=NAMESPACE,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=nodes[index % len(nodes)], soft=False)
            ).remote(
                self.phase, self.run_id, self.providers, self.limiters, self.policy, self.concurrency,
                self.collector, self.generation, self.catalogue, index,
                self.load.share(workers, index) if self.load else None)
            for index in range(workers)
        ]
        results = await asyncio.gather(*(child.run.remote(part, 1, warm) for child, part in zip(children, slices)))
        return [report for reports in results for report in reports]

    async def _run_here(self, chunks: Sequence[Any], warm: Sequence[tuple[str, str]]) -> PhaseReport:
        node = ray.get_runtime_context().get_node_id()[:8]
        worker = f"{socket.gethostname()}:{node}:{os.getpid()}"

        holder = holder_id(self.run_id, self.phase.name, self.generation, self.worker_index)

        def limiter_for(provider: ResolvedProvider) -> Limiter:
            spec = self.limiters[provider.name]
            return Allowance(RayLink(spec), client=holder, run=self.run_id, limits=spec.limits)

        agent = PhaseAgent(self.phase, self.run_id, _stream(chunks), self.providers, limiter_for, self.policy,
                           CollectorSink(self.collector), concurrency=self.concurrency, worker=worker,
                           catalogue=self.catalogue, holder=holder, warm=warm, load=self.load)
        return await agent.run()
