"""Two Ray nodes on one machine (ray.cluster_utils.Cluster): subagents on both nodes share
one limiter per provider, so the simulator's request window is never exceeded by our bursts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import ray
from ray.cluster_utils import Cluster

from agents.run_setup import RunSpec
from cluster.driver import RunSession
from tests.cluster.helpers import run_records, sim_and_fleet_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]

WINDOW_S = 1.0
PER_WINDOW = 6


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[Cluster]:
    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, namespace="fleetbench", configure_logging=False, log_to_driver=False)
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def test_window_limit_holds_across_nodes(two_nodes: Cluster, tmp_path: Path) -> None:
    config = sim_and_fleet_config(
        tmp_path, brain={"ttft_ms": 5, "itl_ms": 1, "output_tokens": 3},
        limits={"requests_per_window": PER_WINDOW, "window_s": WINDOW_S}, concurrency=8, workers=4)
    spec = RunSpec(suites=["smoke"], phases=["baseline"], models=["sim/a", "sim/b"], repeat=4, config_path=config)
    runs = tmp_path / "runs"
    session = RunSession(spec, runs_dir=runs, address=two_nodes.address, progress=False)
    try:
        session.spawn("baseline")
        result = session.wait()
        assert session.sim is not None
        truths = session.sim.truths()
    finally:
        session.close()

    records = run_records(runs, result.run_id)
    assert len(records) == len({r.key for r in records}) == 3 * 2 * 4
    assert all(r.status == "ok" for r in records)
    nodes = {r.worker.split(":")[1] for r in records if r.worker}
    assert len(nodes) == 2, f"subagents ran on {nodes}"
    assert [t for t in truths if t.status == 429] == []
    arrivals = sorted(t.arrival_ns for t in truths)
    for i, start in enumerate(arrivals):
        in_window = [a for a in arrivals[i:] if a - start < WINDOW_S * 1e9]
        assert len(in_window) <= PER_WINDOW
