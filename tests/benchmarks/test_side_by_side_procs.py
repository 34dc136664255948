"""Everything the benchmark starts ends with it: a tool that leaves a detached,
SIGTERM-deaf daemon behind (as Ray's daemons outlive their driver) is still ended."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psutil
import pytest
from sidebyside.cpu import CgroupMeter, MeterFactory, Sampler
from sidebyside.procs import Launched, Registry

# the tool: starts a daemon in its own session that ignores SIGTERM, writes its pid, idles
TOOL = (
    "import subprocess, sys, time\n"
    "daemon = subprocess.Popen([sys.executable, '-c', "
    "'import signal, time\\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\\ntime.sleep(120)'], "
    "start_new_session=True)\n"
    "open(sys.argv[1], 'w').write(str(daemon.pid))\n"
    "time.sleep(120)\n"
)


def test_registry_close_ends_the_tool_and_its_detached_daemon(tmp_path: Path) -> None:
    factory = MeterFactory(f"fleetbench-sbs-procs-test-{os.getpid()}")
    if factory.kind != CgroupMeter.kind:
        factory.close()
        pytest.skip("no writable cgroup v2 hierarchy: a daemon that leaves the tree cannot be found")
    sampler, registry = Sampler(), Registry()
    pid_file = tmp_path / "daemon.pid"
    meter = factory.make("tool")
    assert isinstance(meter, CgroupMeter)
    try:
        launched = registry.add(Launched("tool", [sys.executable, "-c", TOOL, str(pid_file)],
                                         meter, sampler, tmp_path / "tool.log"))
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        daemon = psutil.Process(int(pid_file.read_text()))
        assert daemon.is_running() and launched.proc.poll() is None
        registry.close()
        assert launched.proc.poll() is not None
        daemon.wait(timeout=10)  # raises TimeoutExpired if it survived
        assert not daemon.is_running()
        assert not meter.path.exists()
    finally:
        registry.close()
        sampler.close()
        factory.close()
