"""Actor wrapper around `agents.PhaseAgent`: one isolated process per phase subagent.

Why a thin wrapper: all phase logic is in agents/ (testable without Ray); this module only
wires in the cluster-wide limiters and the remote collector, and fans out to workers.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Sequence
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from agents.phase_agent import PhaseAgent, PhaseReport
from agents.phases.base import Phase
from agents.plan import WorkItem
from agents.providers import ResolvedProvider
from cluster.limiter_actor import RayLimiter, lookup_limiter
from harness.catalogue import Catalogue
from harness.limits import Limiter
from harness.logs import configure_process_logging
from harness.records import CallRecord
from harness.retry import RetryPolicy


class CollectorSink:
    """Sends batches to the collector and waits for its fsync'd acknowledgement."""

    def __init__(self, collector: Any) -> None:
        self._collector = collector

    async def emit(self, records: list[CallRecord]) -> None:
        await self._collector.add.remote(records)


def holder_id(run_id: str, phase: str, generation: int, worker_index: int) -> str:
    return f"{run_id}:{phase}:g{generation}:w{worker_index}"


@ray.remote(num_cpus=0, max_restarts=0)
class PhaseSubagent:
    """Runs one phase's work items (or one slice of them when fanned out)."""

    def __init__(self, phase: Phase, run_id: str, providers: dict[str, ResolvedProvider],
                 policy: RetryPolicy, concurrency: int, collector: Any, generation: int,
                 catalogue: Catalogue | None = None, worker_index: int = 0) -> None:
        configure_process_logging()
        self.phase = phase
        self.run_id = run_id
        self.providers = providers
        self.policy = policy
        self.concurrency = concurrency
        self.collector = collector
        self.generation = generation
        self.worker_index = worker_index
        self.catalogue = catalogue

    def pid(self) -> int:
        return os.getpid()

    def node_id(self) -> str:
        return ray.get_runtime_context().get_node_id()

    async def run(self, items: Sequence[WorkItem], workers: int = 1) -> list[PhaseReport]:
        if workers <= 1 or len(items) <= 1:
            return [await self._run_here(items)]
        slices = [list(items[i::workers]) for i in range(workers)]
        # round-robin over the alive nodes, pinned (hard affinity): SPREAD and soft affinity are
        # both best-effort, and soft affinity put 3 or 4 of 4 workers on one node in a quick
        # trial on an idle 2-node cluster. A node that dies before its worker starts fails that
        # worker, and the driver restarts the phase on the nodes then alive.
        nodes = sorted(n["NodeID"] for n in ray.nodes() if n.get("Alive"))  # type: ignore[no-untyped-call]
        children = [
            PhaseSubagent.options(  # type: ignore[attr-defined]
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=nodes[index % len(nodes)], soft=False)
            ).remote(
                self.phase, self.run_id, self.providers, self.policy, self.concurrency,
                self.collector, self.generation, self.catalogue, index)
            for index in range(workers)
        ]
        results = await asyncio.gather(*(child.run.remote(part, 1) for child, part in zip(children, slices)))
        return [report for reports in results for report in reports]

    async def _run_here(self, items: Sequence[WorkItem]) -> PhaseReport:
        node = ray.get_runtime_context().get_node_id()[:8]
        worker = f"{socket.gethostname()}:{node}:{os.getpid()}"

        def limiter_for(provider: ResolvedProvider) -> Limiter:
            return RayLimiter(lookup_limiter(provider.connection_key()), provider.limits.lease_ttl_s)

        agent = PhaseAgent(self.phase, self.run_id, items, self.providers, limiter_for, self.policy,
                           CollectorSink(self.collector), concurrency=self.concurrency, worker=worker,
                           catalogue=self.catalogue,
                           holder=holder_id(self.run_id, self.phase.name, self.generation, self.worker_index))
        return await agent.run()
