"""What the simulator benchmarks share: the key plan, the generated inputs as fleetbench
itself parses them, the results watch, and the steady rate of a progress series."""

from __future__ import annotations

from pathlib import Path

import pytest
from simload.fleet_run import ResultsWatch
from simload.inputs import KeyPlan, served_provider, write_fleet_config, write_sim_config, write_suite
from simload.progress import crossing_s, first_and_last_record_s, steady_rate

from agents.config import load_config
from agents.suite import load_suite
from simulator.config import load_sim_config


def test_a_key_count_is_rounded_up_to_whole_items() -> None:
    plan = KeyPlan.at_least(10_000, ("sim/a", "sim/b", "sim/c"), repeat=1)
    assert (plan.items, plan.keys) == (3334, 10_002)
    keys = plan.planned_keys()
    assert len(keys) == len(set(keys)) == 10_002
    assert keys[0] == ("baseline", "k-000000", "sim/a", "", 0)
    with pytest.raises(ValueError):
        KeyPlan.at_least(0, ("a",), 1)


def test_generated_inputs_pass_fleetbenchs_own_loaders(tmp_path: Path) -> None:
    plan = KeyPlan(items=3, models=("sim/a", "sim/b"), repeat=2)
    suite = load_suite(str(write_suite(tmp_path / "suite.yaml", plan, name="gen", max_tokens=8)))
    assert [item.id for item in suite.suite.items] == plan.item_ids()
    sim = load_sim_config(write_sim_config(tmp_path / "sim.yaml", brain={"ttft_ms": 0, "itl_ms": 0,
                                                                          "output_tokens": 4},
                                           faults=[{"kind": "server_error", "rate": 0.1}], seed=3))
    assert sim.default_brain.ttft_ms == 0 and sim.faults[0].rate == 0.1 and sim.seed == 3
    hosted = load_config(write_fleet_config(tmp_path / "own.yaml", sim_config=tmp_path / "sim.yaml",
                                            concurrency=64, workers=1, retry={"max_attempts": 3}))
    assert hosted.simulator == tmp_path / "sim.yaml" and "sim" not in hosted.providers
    entry = served_provider("http://127.0.0.1:1234/", limits={"adaptive": {"enabled": False}}, timeout_s=30,
                            api_key_env="SOME_KEY")
    served = load_config(write_fleet_config(tmp_path / "served.yaml", sim_config=tmp_path / "sim.yaml",
                                            concurrency=8, workers=2, retry={"max_attempts": 8},
                                            providers={"sim": entry, "other": entry}))
    assert served.providers["sim"].base_url == served.providers["other"].base_url == "http://127.0.0.1:1234/v1"
    assert served.providers["other"].api_key_env == "SOME_KEY" and served.providers["sim"].timeout_s == 30
    assert served.providers["sim"].limits.adaptive.enabled is False and served.retry.max_attempts == 8


def test_the_watch_counts_only_new_lines_each_look(tmp_path: Path) -> None:
    watch = ResultsWatch(tmp_path)
    assert watch.look() == 0
    results = tmp_path / "2026-12-02" / "run-1" / "results.jsonl"
    results.parent.mkdir(parents=True)
    results.write_bytes(b'{"a":1}\n{"a":2}\n{"a":')  # a torn line is not a record yet
    assert watch.look() == 2
    with open(results, "ab") as fh:
        fh.write(b'3}\n{"a":4}\n')
    assert watch.look() == 4


def test_crossing_is_interpolated_between_looks() -> None:
    progress = [(0.0, 0), (10.0, 0), (11.0, 100), (21.0, 1100), (22.0, 1100)]
    assert crossing_s(progress, 50) == pytest.approx(10.5)
    assert crossing_s(progress, 600) == pytest.approx(16.0)
    assert crossing_s(progress, 2000) is None


def test_steady_rate_leaves_out_start_up_and_the_tail() -> None:
    # 30 s of start-up, 100 records/s for 100 s, then a 10 s drain of the last 1 %
    progress = [(0.0, 0), (30.0, 0)] + [(30.0 + t, 100 * t) for t in range(1, 100)] + [(140.0, 10_000)]
    steady = steady_rate(progress, 10_000)
    assert steady is not None and steady.rate == pytest.approx(100.0)
    assert steady.start_s == pytest.approx(40.0) and steady.end_s == pytest.approx(120.0)
    assert first_and_last_record_s(progress) == (31.0, 140.0)
    assert steady_rate([(0.0, 0), (1.0, 10)], 10) is None  # both moments between the same looks
    with pytest.raises(ValueError):
        steady_rate(progress, 10_000, lo=0.9, hi=0.1)
