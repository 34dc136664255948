"""Two Ray nodes on one machine (ray.cluster_utils.Cluster): subagents on both nodes share
one limiter per provider, so the simulator's request window is never exceeded by our bursts."""

from __future__ import annotations

import time
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
    session = RunSession(spec, runs_dir=runs, address=two_nodes.address)
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


def test_a_node_dying_mid_run_loses_and_duplicates_nothing(two_nodes: Cluster, tmp_path: Path) -> None:
    """A third node joins, takes part of the fan-out, and is removed mid-run (its raylet and
    every worker on it killed). The phase restarts on the unrecorded keys over the nodes still
    alive; the limiters and the collector, pinned to the driver's node, never move."""
    extra = two_nodes.add_node(num_cpus=1)
    two_nodes.wait_for_nodes()
    config = sim_and_fleet_config(tmp_path, brain={"ttft_ms": 150, "itl_ms": 5, "output_tokens": 3},
                                  concurrency=1, workers=3)
    spec = RunSpec(suites=["smoke"], phases=["baseline"], models=["sim/a", "sim/b"], repeat=4, config_path=config)
    runs = tmp_path / "runs"
    session = RunSession(spec, runs_dir=runs, address=two_nodes.address)
    try:
        session.spawn("baseline")
        # remove the node once it has answered a call and while work is left (a worker's start
        # on a fresh node can take longer than another worker's whole slice)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            answered = {r.worker.split(":")[1] for r in run_records(runs, session.run_id) if r.worker}
            if extra.node_id[:8] in answered:
                break
            time.sleep(0.05)
        two_nodes.remove_node(extra)
        result = session.wait()
    finally:
        session.close()
    records = run_records(runs, result.run_id)
    assert len(records) == len({r.key for r in records}) == 3 * 2 * 4
    assert all(r.status == "ok" for r in records), [r.error_message for r in records if r.status != "ok"]
    assert result.status == "completed" and result.restarts.get("baseline", 0) >= 1
    nodes = {r.worker.split(":")[1] for r in records if r.worker}
    assert extra.node_id[:8] in nodes and len(nodes) == 3  # the lost node had answered some calls
