"""CPU accounting: parsing, window arithmetic, and both meters against the kernel's own
rusage of a real process tree (a child that runs a grandchild), the ground truth."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sidebyside.cpu import (
    CgroupMeter,
    MeterFactory,
    Sampler,
    TreeAccount,
    TreeMeter,
    cgroup2_root,
    cpu_between,
    machine_busy_seconds,
    parse_cpu_stat,
)

HYBRID_MOUNTS = """tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
"""

# a child that burns CPU, runs a grandchild that burns CPU, and idles between (so a
# sampler sees each process's final CPU before it exits)
TREE_SCRIPT = (
    "import subprocess, sys, time\n"
    "def burn(s):\n"
    "    end = time.process_time() + s\n"
    "    while time.process_time() < end: pass\n"
    "burn(0.3)\n"
    "subprocess.run([sys.executable, '-c', "
    "'import time\\nend = time.process_time() + 0.4\\nwhile time.process_time() < end: pass\\ntime.sleep(1.0)'])\n"
    "time.sleep(1.0)\n"
)


def test_cgroup2_root_is_found_on_hybrid_and_pure_hosts() -> None:
    assert cgroup2_root(HYBRID_MOUNTS) == Path("/sys/fs/cgroup/unified")
    assert cgroup2_root("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n") == Path("/sys/fs/cgroup")
    assert cgroup2_root("cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n") is None


def test_parse_cpu_stat_reads_usage_usec() -> None:
    assert parse_cpu_stat("usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n") == 1.5
    with pytest.raises(ValueError):
        parse_cpu_stat("user_usec 1\n")


def test_machine_busy_leaves_out_idle_and_iowait() -> None:
    # user nice system idle iowait irq softirq steal guest guest_nice
    text = "cpu  100 10 50 1000 40 5 5 0 20 0\ncpu0 50 5 25 500 20 2 3 0 10 0\n"
    assert machine_busy_seconds(text, 100) == pytest.approx((100 + 10 + 50 + 5 + 5) / 100)


def test_cpu_between_interpolates_and_clamps() -> None:
    series = [(10.0, 1.0), (11.0, 2.0), (13.0, 6.0)]
    assert cpu_between(series, 10.5, 12.0) == pytest.approx(4.0 - 1.5)
    assert cpu_between(series, 0.0, 100.0) == pytest.approx(5.0)
    assert cpu_between(series, 11.0, 11.0) == 0.0
    with pytest.raises(ValueError):
        cpu_between([], 0.0, 1.0)
    with pytest.raises(ValueError):
        cpu_between(series, 12.0, 11.0)


def test_tree_account_keeps_exited_processes_and_tells_reused_pids_apart() -> None:
    account = TreeAccount()
    assert account.update({(10, 1.0): 0.5, (11, 1.0): 0.2}) == pytest.approx(0.7)
    # pid 11 exited (absent), pid 10 went on; a new process reuses pid 11
    assert account.update({(10, 1.0): 0.8, (11, 9.0): 0.1}) == pytest.approx(0.8 + 0.2 + 0.1)
    assert account.update({(10, 1.0): 0.6}) == pytest.approx(1.1)  # never goes back
    assert account.processes == 3


def _run_tree(command: list[str]) -> tuple[subprocess.Popen[bytes], float]:
    proc = subprocess.Popen(command)
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0  # reaped by wait4 above
    return proc, usage.ru_utime + usage.ru_stime


def _cgroup_factory() -> MeterFactory:
    factory = MeterFactory(f"fleetbench-sbs-test-{os.getpid()}")
    if factory.kind != CgroupMeter.kind:
        factory.close()
        pytest.skip("no writable cgroup v2 hierarchy on this host (the psutil meter is tested below)")
    return factory


def test_cgroup_meter_counts_the_whole_tree_as_the_kernel_does() -> None:
    factory = _cgroup_factory()
    meter = factory.make("tree")
    assert isinstance(meter, CgroupMeter)
    try:
        _, truth = _run_tree(meter.wrap([sys.executable, "-c", TREE_SCRIPT]))
        measured = meter.cpu_seconds()
        assert truth >= 0.7
        # the group also holds the wrapping shell's instant before it execs
        assert truth - 0.02 <= measured <= truth * 1.05 + 0.05
        assert meter.pids() == []
    finally:
        meter.kill_all()
        meter.remove()
        factory.close()
    assert not meter.path.exists()


def test_cgroup_meter_ends_everything_it_holds() -> None:
    factory = _cgroup_factory()
    meter = factory.make("sleepers")
    assert isinstance(meter, CgroupMeter)
    try:
        # a daemon-like grandchild that outlives its parent and leaves the process tree
        launcher = subprocess.Popen(meter.wrap(
            [sys.executable, "-c", "import subprocess; subprocess.Popen(['sleep', '60'], start_new_session=True)"]))
        launcher.wait(timeout=30)
        deadline = time.monotonic() + 10
        while not meter.pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(meter.pids()) == 1  # the orphaned sleep, still ours
        meter.kill_all()
        deadline = time.monotonic() + 10
        while meter.pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert meter.pids() == []
    finally:
        meter.kill_all()
        meter.remove()
        factory.close()


def test_tree_meter_sampled_often_enough_sees_the_tree_cpu() -> None:
    meter = TreeMeter()
    sampler = Sampler(interval_s=0.1)
    try:
        proc = subprocess.Popen([sys.executable, "-c", TREE_SCRIPT])
        meter.attach(proc.pid)
        sampler.watch("tree", meter.cpu_seconds)
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0
        truth = usage.ru_utime + usage.ru_stime
        series = sampler.unwatch("tree")
    finally:
        sampler.close()
    measured = series[-1][1]
    # each process idles 1 s after its last burst, so its final CPU was sampled (a process
    # born and gone between two samples is what this meter can miss; there is none here)
    assert truth * 0.85 - 0.1 <= measured <= truth + 0.05
