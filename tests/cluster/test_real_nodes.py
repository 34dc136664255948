"""Two real Ray nodes: `ray start --head` and `ray start --address` in two network
namespaces of this machine, and `fleetbench run --address` from the head's namespace, as a
user runs it on two machines (the README's cluster recipe, command for command).

Both runs fan a phase out over both nodes. The first uses the simulator the run starts for
itself, which must then listen where the worker node reaches it. The second uses a
standalone `fleetbench sim serve` (so its ground truth outlives the run), kills the worker
node whole in mid-run, and checks that every key ends exactly once and that the shared
limiter held the request window, the concurrency cap and the token window by the
simulator's own arrival stamps.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.records import CallRecord
from simulator.truth import RequestTruth
from tests.cluster.helpers import run_records, sim_and_fleet_config, write_yaml
from tests.cluster.netns import Namespace, RayNode, namespace_pair, node_env, start_node

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(900)]

FLEETBENCH = str(Path(sys.executable).with_name("fleetbench"))
REPO = Path(__file__).resolve().parents[2]
WINDOW_S = 1.0
PER_WINDOW = 6
MAX_CONCURRENT = 3
TOKENS_PER_WINDOW = 220
SIM_PORT = 8765


@dataclass
class TwoNodes:
    head: RayNode
    worker: RayNode
    env: dict[str, str]
    root: Path
    startup_s: dict[str, list[float]]  # per node: seconds of each `ray start` attempt

    def ensure_worker(self) -> None:
        """A test that needs both nodes starts the worker again if an earlier one killed it."""
        if self.worker.proc.poll() is not None:
            self.worker, self.startup_s["worker again"] = start_node(
                self.worker.ns, self.root / "worker-again", self.env, head=self.head.address)


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[TwoNodes]:
    root = Path(tempfile.mkdtemp(prefix="fbn"))  # short: Ray's socket paths live under it
    env = node_env(secrets.token_hex(16))
    try:
        with namespace_pair() as (head_ns, worker_ns):
            head, head_took = start_node(head_ns, root / "head", env)
            nodes = TwoNodes(head, head, env, root, {"head": head_took})
            try:
                nodes.worker, nodes.startup_s["worker"] = start_node(worker_ns, root / "worker", env,
                                                                     head=head.address)
                print(f"\nray start, seconds per attempt: {nodes.startup_s}")
                yield nodes
            finally:
                for node in (nodes.worker, nodes.head):
                    node.kill()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def fleetbench_run(nodes: TwoNodes, *, repeat: int, workers: int, config: Path, runs: Path, run_id: str) -> list[str]:
    """The driver's command line, for the head's namespace: the README's `fleetbench run`,
    with a config, an archive and a run ID of the test's own."""
    return [FLEETBENCH, "run", "smoke", "--phase", "baseline", "--models", "sim/a,sim/b", "--repeat", str(repeat),
            "--plan", "full", "--workers", str(workers), "--address", nodes.head.address,
            "--config", str(config), "--runs-dir", str(runs), "--run-id", run_id]


def node_of(record: CallRecord) -> str:
    return record.worker.split(":")[1] if record.worker else ""


def failure_report(proc_output: str, nodes: TwoNodes) -> str:
    return f"{proc_output[-4000:]}\nhead log:\n{nodes.head.log.read_text()[-1500:]}"


def test_the_simulator_a_run_starts_serves_both_nodes(two_nodes: TwoNodes, tmp_path: Path) -> None:
    two_nodes.ensure_worker()
    config = sim_and_fleet_config(tmp_path, brain={"ttft_ms": 20, "itl_ms": 2, "output_tokens": 4}, concurrency=2)
    runs = tmp_path / "runs"
    command = fleetbench_run(two_nodes, repeat=2, workers=2, config=config, runs=runs, run_id="across")
    driver = two_nodes.head.ns.popen(command, env=two_nodes.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, cwd=tmp_path)
    try:
        output, _ = driver.communicate(timeout=600)
    finally:
        driver.kill()  # a no-op once it has exited
    assert driver.returncode == 0, failure_report(output, two_nodes)
    records = run_records(runs, "across")
    assert len(records) == len({r.key for r in records}) == 3 * 2 * 2
    assert all(r.status == "ok" for r in records), [r.error_message for r in records if r.status != "ok"]
    # the worker node's subagent reached the simulator too, so it did not listen on loopback
    assert {node_of(r) for r in records} == {two_nodes.head.node_id()[:8], two_nodes.worker.node_id()[:8]}


def test_each_node_finds_its_own_address_on_the_veth(two_nodes: TwoNodes) -> None:
    """What the driver binds its servers to, worked out from either side of the veth."""
    script = "import sys; from cluster.ray_runtime import cluster_ip; print(cluster_ip(sys.argv[1]))"
    for node in (two_nodes.head, two_nodes.worker):
        out = subprocess.run(node.ns.command([sys.executable, "-c", script, two_nodes.head.address]),
                             env=two_nodes.env, cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
        assert out.stdout.strip() == node.ns.ip, out.stderr[-2000:]


class SimServe:
    """`fleetbench sim serve --host <head's veth address>` in the head's namespace."""

    def __init__(self, ns: Namespace, config: Path, env: dict[str, str]) -> None:
        self.ns = ns
        self.proc = ns.popen([FLEETBENCH, "sim", "serve", "--host", ns.ip, "--port", str(SIM_PORT),
                              "--config", str(config)], stdout=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        assert line.startswith("SIM_URL="), line
        self.url = line.split("=", 1)[1]
        self.env = env

    def truths(self) -> list[RequestTruth]:
        """Read over the veth from inside the namespace: the test's own process is outside it."""
        script = ("import json, sys; from simulator.client import fetch_truths; "
                  "json.dump(fetch_truths(sys.argv[1]), sys.stdout)")
        out = subprocess.run(self.ns.command([sys.executable, "-c", script, self.url]), env=self.env, cwd=REPO,
                             capture_output=True, text=True, timeout=120, check=True).stdout
        return [RequestTruth(**row) for row in json.loads(out)]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def windows(truths: Sequence[RequestTruth], window_s: float) -> list[tuple[int, int]]:
    """(requests, tokens) that arrived within `window_s` of each arrival, by the server's stamps."""
    rows = sorted((t.arrival_ns, t.input_tokens + t.output_tokens) for t in truths)
    found = []
    for i, (start, _) in enumerate(rows):
        inside = [tokens for arrival, tokens in rows[i:] if arrival - start < window_s * 1e9]
        found.append((len(inside), sum(inside)))
    return found


def most_at_once(truths: Sequence[RequestTruth]) -> int:
    """The most requests the server had open at one moment (arrival to its last byte)."""
    edges = sorted([(t.arrival_ns, 1) for t in truths] + [(t.end_ns or t.arrival_ns, -1) for t in truths],
                   key=lambda e: (e[0], e[1]))
    open_now = best = 0
    for _, step in edges:
        open_now += step
        best = max(best, open_now)
    return best


def wait_for_worker_answers(runs: Path, run_id: str, worker_node: str, proc: subprocess.Popen[Any],
                            timeout_s: float = 300) -> int:
    """Block until the worker node has answered a call of the run; return the records so far."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            records = run_records(runs, run_id)
        except Exception:  # noqa: BLE001 - the run directory is not there yet
            records = []
        if any(node_of(r) == worker_node for r in records):
            return len(records)
        time.sleep(0.1)
    raise AssertionError(f"the worker node never answered (driver exit {proc.poll()})")


def test_worker_node_killed_mid_run_every_key_once_and_limits_held(two_nodes: TwoNodes, tmp_path: Path) -> None:
    two_nodes.ensure_worker()
    limits = {"requests_per_window": PER_WINDOW, "window_s": WINDOW_S, "max_concurrent": MAX_CONCURRENT}
    # the simulator enforces the same request window and cap: a breach would also show as a 429.
    # Calls of ~0.3-0.5 s keep about 3 in flight at 6 a second; answers as long as max_tokens
    # make the server's token count what the limiter reserved, give or take its rounding.
    sim_config = write_yaml(tmp_path / "sim.yaml", {
        "default_brain": {"ttft_ms": 300, "itl_ms": 5, "output_tokens": 64}, "limits": limits})
    sim = SimServe(two_nodes.head.ns, sim_config, two_nodes.env)
    try:
        config = write_yaml(tmp_path / "fleet.yaml", {
            "concurrency": 2,
            "retry": {"base_delay_s": 0.05, "max_delay_s": 0.5, "deadline_s": 120},
            "providers": {"sim": {"base_url": f"{sim.url}/v1", "limits": {**limits, "tokens_per_window": TOKENS_PER_WINDOW}}}})
        runs = tmp_path / "runs"
        total = 3 * 2 * 8
        worker_node = two_nodes.worker.node_id()[:8]
        with (tmp_path / "driver.log").open("w+") as log:
            command = fleetbench_run(two_nodes, repeat=8, workers=4, config=config, runs=runs, run_id="killed")
            driver = two_nodes.head.ns.popen(command, env=two_nodes.env, stdout=log, stderr=subprocess.STDOUT,
                                             text=True, cwd=tmp_path)
            try:
                done_before_kill = wait_for_worker_answers(runs, "killed", worker_node, driver)
                left_running = two_nodes.worker.kill()
                exit_code = driver.wait(timeout=600)
            finally:
                if driver.poll() is None:
                    driver.kill()
            log.seek(0)
            output = log.read()
        truths = sim.truths()
    finally:
        sim.stop()

    assert left_running == [], "processes of the killed node outlived its PID namespace"
    assert done_before_kill < total, "the run had finished before the worker node was killed"
    assert exit_code == 0, failure_report(output, two_nodes)
    run_dir = next(runs.glob("*/killed"))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "completed", manifest.get("failure")
    records = run_records(runs, "killed")
    assert len(records) == len({r.key for r in records}) == total
    assert all(r.status == "ok" for r in records), [r.error_message for r in records if r.status != "ok"]
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert any(e["event"] == "phase_subagent_lost" for e in events), "the lost node's subagents were never replaced"
    assert worker_node in {node_of(r) for r in records}  # the killed node had answered calls

    # the limits held across both nodes, by the server's own clock
    assert [t for t in truths if t.status == 429] == []
    spans = windows(truths, WINDOW_S)
    seen = {"requests per window": (max(n for n, _ in spans), PER_WINDOW),
            "in flight": (most_at_once(truths), MAX_CONCURRENT),
            "tokens per window": (max(tokens for _, tokens in spans), TOKENS_PER_WINDOW)}
    print(f"\nlimits, most seen by the simulator / limit: {seen}")
    assert seen["requests per window"][0] <= PER_WINDOW and seen["in flight"][0] <= MAX_CONCURRENT, seen
    # the limiter reserves len(prompt) // 4 + max_tokens; the simulator counts the prompt
    # rounding up, so a call may use one token more than it reserved (counted once it ends)
    assert all(tokens <= TOKENS_PER_WINDOW + n for n, tokens in spans), seen
    # every record's request reached the server (no answer came from anywhere else)
    assert {r.request_id for r in records} <= {t.request_id for t in truths}

