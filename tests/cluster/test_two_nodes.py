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
from tests.cluster.helpers import run_records, run_watched, sim_and_fleet_config, write_yaml

# a fresh node's workers start slowly on a busy 2-core machine: room beyond the default 300 s
pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(900)]

WINDOW_S = 1.0
PER_WINDOW = 6
MAX_CONCURRENT = 3
TOKENS_PER_WINDOW = 200


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


def test_limits_hold_across_nodes(two_nodes: Cluster, tmp_path: Path) -> None:
    """Concurrency, the request window and the token window, each drawn from one pool by
    allowances on both nodes, checked against the simulator's own record of arrivals."""
    sim = write_yaml(tmp_path / "sim.yaml", {
        "default_brain": {"ttft_ms": 30, "itl_ms": 1, "output_tokens": 3},
        "limits": {"requests_per_window": PER_WINDOW, "window_s": WINDOW_S, "max_concurrent": MAX_CONCURRENT}})
    config = write_yaml(tmp_path / "fleet.yaml", {
        "simulator": str(sim), "concurrency": 8, "workers_per_phase": 4,
        "retry": {"base_delay_s": 0.05, "max_delay_s": 0.5, "deadline_s": 60},
        "providers": {"sim": {"limits": {"requests_per_window": PER_WINDOW, "window_s": WINDOW_S,
                                         "max_concurrent": MAX_CONCURRENT, "tokens_per_window": TOKENS_PER_WINDOW}}}})
    spec = RunSpec(suites=["smoke"], phases=["baseline"], models=["sim/a", "sim/b"], repeat=4, config_path=config)
    runs = tmp_path / "runs"
    result, truths = run_watched(RunSession(spec, runs_dir=runs, address=two_nodes.address))

    records = run_records(runs, result.run_id)
    assert len(records) == len({r.key for r in records}) == 3 * 2 * 4
    assert all(r.status == "ok" for r in records), [(r.error_class, r.error_message) for r in records
                                                    if r.status != "ok"]
    nodes = {r.worker.split(":")[1] for r in records if r.worker}
    assert len(nodes) == 2, f"subagents ran on {nodes}"
    assert [t for t in truths if t.status == 429] == []  # the simulator refuses over its concurrency too
    spans = sorted((t.arrival_ns, t.end_ns or t.arrival_ns) for t in truths)
    for i, (start, _) in enumerate(spans):
        in_window = [t for t in sorted(truths, key=lambda t: t.arrival_ns)[i:] if t.arrival_ns - start < WINDOW_S * 1e9]
        assert len(in_window) <= PER_WINDOW
        # tokens are granted on estimates, which are never below what was really used
        assert sum(t.input_tokens + t.output_tokens for t in in_window) <= TOKENS_PER_WINDOW
        assert sum(1 for s, e in spans if s <= start < e) <= MAX_CONCURRENT


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
        deadline = time.monotonic() + 240  # ample for a slow start on a loaded machine, still a bound
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
