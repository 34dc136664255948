"""Where Ray puts a phase's fan-out workers: soft versus hard node affinity.

The phase subagent spreads its workers round-robin over the alive nodes. This script builds
a 2-node `ray.cluster_utils.Cluster` on this machine and, for each trial, asks for 4 workers
alternating between the two nodes, once with soft and once with hard affinity, and prints
how many landed on each node. Soft affinity is why `cluster/phase_actor.py` pins workers
hard. Usage (about 20 s here; needs no model and no simulator):

    .venv/bin/python benchmarks/fanout_placement.py [--trials 5] [--workers 4]
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

import ray
from ray.cluster_utils import Cluster
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy


@ray.remote(num_cpus=0)
class Probe:
    """Stands in for a PhaseSubagent: zero CPUs, so placement is the scheduler's choice alone."""

    def node(self) -> str:
        return str(ray.get_runtime_context().get_node_id())

    def spawn(self, workers: int, soft: bool) -> list[str]:
        nodes = sorted(n["NodeID"] for n in ray.nodes() if n.get("Alive"))  # type: ignore[no-untyped-call]
        children: list[Any] = [
            Probe.options(  # type: ignore[attr-defined]
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=nodes[i % len(nodes)], soft=soft)
            ).remote()
            for i in range(workers)
        ]
        placed: list[str] = ray.get([c.node.remote() for c in children])
        for child in children:
            ray.kill(child)
        return placed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, configure_logging=False, log_to_driver=False)
    try:
        nodes = sorted(n["NodeID"] for n in ray.nodes() if n.get("Alive"))  # type: ignore[no-untyped-call]
        parent = Probe.options(scheduling_strategy="SPREAD").remote()  # type: ignore[attr-defined]
        even = {"soft": 0, "hard": 0}
        print(f"{args.workers} workers asked round-robin over 2 nodes; count per node (node A/node B)")
        for trial in range(1, args.trials + 1):
            row = []
            for label, soft in (("soft", True), ("hard", False)):
                counts = Counter(ray.get(parent.spawn.remote(args.workers, soft)))
                split = [counts.get(n, 0) for n in nodes]
                even[label] += split == [args.workers // 2, args.workers - args.workers // 2]
                row.append(f"{label} {split[0]}/{split[1]}")
            print(f"trial {trial}: " + "   ".join(row))
        print(f"as asked (even split): soft {even['soft']}/{args.trials}, hard {even['hard']}/{args.trials}")
    finally:
        ray.shutdown()
        cluster.shutdown()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
