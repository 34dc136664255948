"""The many-calls benchmark's pure parts: its sizes; peak RSS per process and per role
(the roles read off Ray's and fleetbench's command lines, the aggregation, the stages and
the bounded-memory verdict); and the sampler against the kernel's own high-water mark of
a real child process."""

from __future__ import annotations

import subprocess
import sys

import pytest
from many_calls import plan_for
from procmem.aggregate import MIB, ProcessPeak, RoleRow, by_role, compare
from procmem.report import (
    BYTES_PER_CALL_LIMIT,
    comparison_lines,
    role_lines,
    stage_additions,
    stage_growth,
    unbounded,
)
from procmem.roles import IDLE_WORKER, role_of
from procmem.sample import RssSampler, vm_hwm_bytes, window_peaks

PY = "/work/wt/x/.venv/bin/python"


def test_many_calls_sizes_grow_items_and_repeats() -> None:
    small, large = plan_for(10_000), plan_for(100_000)
    assert (small.items, small.repeat, small.keys) == (500, 5, 10_000)
    assert (large.items, large.repeat, large.keys) == (2500, 10, 100_000)


@pytest.mark.parametrize(("cmdline", "role"), [
    (["ray::PhaseSubagent.run"], "subagent"),
    (["ray::PhaseSubagent"], "subagent"),
    (["ray::Collector.add"], "collector"),
    (["ray::LimiterActor"], "limiter"),
    (["ray::IDLE"], IDLE_WORKER),
    (["ray::DashboardAgent"], "ray dashboard agent"),
    (["ray::SomethingElse.go"], "ray actor SomethingElse"),
    (["/venv/lib/python3.11/site-packages/ray/core/src/ray/raylet/raylet", "--raylet_socket_name=x"], "ray raylet"),
    (["/venv/lib/python3.11/site-packages/ray/core/src/ray/gcs/gcs_server", "--log_dir=x"], "ray gcs_server"),
    ([PY, "-u", "/venv/lib/python3.11/site-packages/ray/dashboard/dashboard.py", "--host=x"], "ray dashboard"),
    ([PY, "-u", "/venv/lib/python3.11/site-packages/ray/_private/log_monitor.py", "--x"], "ray log_monitor"),
    ([PY, "-m", "simulator", "--config", "sim.yaml", "--port", "0"], "simulator"),
    ([PY, "/work/wt/x/.venv/bin/fleetbench", "run", "suite.yaml"], "driver (fleetbench run)"),
    ([PY, "/work/wt/x/.venv/bin/fleetbench", "sim", "serve", "--port", "0"], "simulator"),
    ([PY, "-m", "cli", "run", "suite.yaml"], "driver (fleetbench run)"),
    ([], "unknown"),
])
def test_roles_from_command_lines(cmdline: list[str], role: str) -> None:
    assert role_of(cmdline) == role


def test_by_role_adds_peaks_and_keeps_the_largest() -> None:
    peaks = [ProcessPeak(pid=1, started=0, role="subagent", peak_rss=100 * MIB),
             ProcessPeak(pid=2, started=0, role="subagent", peak_rss=150 * MIB),
             ProcessPeak(pid=3, started=0, role="collector", peak_rss=300 * MIB)]
    rows = by_role(peaks)
    assert rows == [RoleRow(role="collector", processes=1, peak_max=300 * MIB, peak_sum=300 * MIB),
                    RoleRow(role="subagent", processes=2, peak_max=150 * MIB, peak_sum=250 * MIB)]


def _rows(**peaks_mib: float) -> list[RoleRow]:
    return [RoleRow(role=role.replace("_", " "), processes=1, peak_max=int(m * MIB), peak_sum=int(m * MIB))
            for role, m in peaks_mib.items()]


def test_largest_process_per_role_in_both_runs_and_their_ratio() -> None:
    changes = compare(_rows(driver=200, collector=100, ray_raylet=30), _rows(driver=230, collector=1000, subagent=190))
    ratios = {c.role: c.ratio for c in changes}
    assert ratios["driver"] == pytest.approx(1.15) and ratios["collector"] == pytest.approx(10.0)
    assert ratios["subagent"] is None and ratios["ray raylet"] is None  # seen in one run only


def test_each_stage_adds_its_peak_over_the_stages_before() -> None:
    stages = {"start-up": {"driver": 200 * MIB, "sim": 50 * MIB}, "calls": {"driver": 260 * MIB, "sim": 40 * MIB},
              "after": {"driver": 250 * MIB}}
    assert stage_additions(stages) == {"driver": {"start-up": 200 * MIB, "calls": 60 * MIB, "after": 0},
                                       "sim": {"start-up": 50 * MIB, "calls": 0}}


def test_a_large_base_does_not_hide_memory_held_per_call() -> None:
    """241 MiB -> 550 MiB is only 2.3x, but 3.5 KB per added call: not bounded."""
    small = {"start-up": {"driver": 208 * MIB, "simulator": 50 * MIB}, "calls": {"driver": 235 * MIB},
             "after": {"driver": 241 * MIB, "simulator": 56 * MIB}}
    large = {"start-up": {"driver": 210 * MIB, "simulator": 50 * MIB}, "calls": {"driver": 240 * MIB},
             "after": {"driver": 550 * MIB, "simulator": 500 * MIB}}
    growth = stage_growth(small, large, 10_000, 100_000)
    by = {(g.role, g.stage): g for g in growth}
    assert by[("driver", "calls")].bounded and by[("driver", "start-up")].bounded
    assert by[("driver", "after")].per_call == pytest.approx((310 - 6) * MIB / 90_000)
    assert [(g.role, g.stage) for g in unbounded(growth)] == [("driver", "after")]  # the simulator is not judged
    text = "\n".join(comparison_lines(compare(_rows(driver=241, simulator=56), _rows(driver=550, simulator=500)),
                                      growth))
    assert "NO: driver after (3542 B per call)" in text and "by design" in text
    with pytest.raises(ValueError):
        stage_growth(small, large, 100_000, 10_000)


def test_growth_just_under_the_limit_per_call_is_bounded_and_at_it_is_not() -> None:
    limit = int(BYTES_PER_CALL_LIMIT * 90_000)
    small = {"start-up": {"driver": 100 * MIB}}
    assert unbounded(stage_growth(small, {"start-up": {"driver": 100 * MIB + limit - 1}}, 10_000, 100_000)) == []
    assert len(unbounded(stage_growth(small, {"start-up": {"driver": 100 * MIB + limit}}, 10_000, 100_000))) == 1


def test_a_fork_that_execs_forgets_the_drivers_pages_it_showed_before() -> None:
    """Forked from a 240 MiB driver, the child shows the driver's RSS until it execs; the
    exec's new address space starts a new high-water mark, lower than the last one."""
    peak = ProcessPeak(pid=7, started=0, role="driver (fleetbench run)")
    assert peak.see(240 * MIB, 240 * MIB, "driver (fleetbench run)")
    assert not peak.see(30 * MIB, 35 * MIB, "simulator", "python -m simulator")
    assert peak.see(50 * MIB, 60 * MIB, "simulator")
    assert (peak.role, peak.peak_rss, peak.samples, peak.command) == ("simulator", 60 * MIB, 2, "python -m simulator")


def test_the_small_dips_of_an_approximate_rss_counter_are_no_exec() -> None:
    peak = ProcessPeak(pid=7, started=0, role="ray raylet")
    assert peak.see(100 * MIB, 100 * MIB, "ray raylet")
    assert peak.see(90 * MIB, 96 * MIB, "ray raylet")  # 4 MiB down: the counter, not an exec
    assert peak.see(50 * MIB, 80 * MIB, "ray raylet")  # 20 MiB down, but under a quarter
    assert peak.peak_rss == 100 * MIB and peak.samples == 3


def test_vm_hwm_is_read_in_bytes() -> None:
    assert vm_hwm_bytes("Name:\tpython\nVmPeak:\t  900 kB\nVmHWM:\t  2048 kB\nVmRSS:\t 1024 kB\n") == 2 * MIB
    assert vm_hwm_bytes("Name:\tpython\n") is None


def test_the_sampler_sees_a_spike_between_its_samples() -> None:
    """A child touches 64 MiB, frees it and only then says it is ready: the first sample
    comes after the spike, and the kernel's high-water mark still shows it."""
    script = ("import sys, time\nb = bytearray(64 * 1024 * 1024)\nfor i in range(0, len(b), 4096): b[i] = 1\n"
              "del b\nprint('ready', flush=True)\ntime.sleep(30)\n")
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        sampler = RssSampler(lambda: [child.pid], interval_s=3600)
        sampler.sample()
        peaks = sampler.close()
    finally:
        child.kill()
        child.wait()
    assert len(peaks) == 1 and peaks[0].samples == 1
    assert peaks[0].peak_rss >= 64 * MIB
    assert sampler.peak_total < peaks[0].peak_rss  # the moment's RSS, after the free


def test_a_worker_keeps_its_actor_role_when_it_goes_idle_and_a_gone_pid_is_skipped() -> None:
    peak = ProcessPeak(pid=1, started=0, role=IDLE_WORKER)
    assert peak.see(10, 10, IDLE_WORKER) and peak.see(30, 30, "subagent") and peak.see(20, 30, IDLE_WORKER)
    assert peak.role == "subagent" and peak.peak_rss == 30 and peak.samples == 3
    sampler = RssSampler(lambda: [2**22 + 12345], interval_s=3600)  # above pid_max: no such process
    sampler.sample()
    assert sampler.close() == [] and sampler.total[-1][1] == 0


def test_window_peaks_take_each_roles_largest_sample_inside_the_window() -> None:
    roles = {(1, 0.0): "driver", (2, 0.0): "subagent", (3, 0.0): "subagent"}
    series = {(1, 0.0): [(0.0, 100), (5.0, 120), (9.0, 400)],
              (2, 0.0): [(1.0, 50), (6.0, 70)],
              (3, 0.0): [(4.0, 90), (9.5, 10)]}
    assert window_peaks(roles, series, 1.0, 8.0) == {"driver": 120, "subagent": 90}
    assert window_peaks(roles, series, 8.0, 10.0) == {"driver": 400, "subagent": 10}
    assert window_peaks(roles, series, 20.0, 30.0) == {}


def test_the_table_shows_each_stages_peak_and_a_dash_where_a_role_had_none() -> None:
    rows = [RoleRow(role="driver", processes=1, peak_max=500 * MIB, peak_sum=500 * MIB)]
    text = "\n".join(role_lines(rows, 600 * MIB, {"start-up": {"driver": 200 * MIB}, "calls": {"driver": 250 * MIB},
                                                  "after": {}}))
    driver = next(line for line in text.splitlines() if line.startswith("driver"))
    assert driver.split()[1:] == ["1", "500", "500", "200", "250", "-"]
