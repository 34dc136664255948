"""Start the mock and the tools in their own meters, and end every one of them.

Why a registry: the benchmark must leave nothing running, on success, on error and on
Ctrl-C. Each process is started in a new session (so a terminal's Ctrl-C reaches us, and
we end the children in order) and in its own meter, which knows every descendant
(Ray's daemons re-parent themselves; the cgroup still holds them).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

from sidebyside.cpu import Meter, Sampler


class Launched:
    """One started command: its process, meter, log file and CPU series name."""

    def __init__(self, name: str, command: list[str], meter: Meter, sampler: Sampler, log_path: Path,
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.name = name
        self.meter = meter
        self.log_path = log_path
        self._sampler = sampler
        self._log: IO[bytes] = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(meter.wrap(command), stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=cwd, start_new_session=True)
        meter.attach(self.proc.pid)
        sampler.watch(name, meter.cpu_seconds)
        self.started_at = time.time()
        self.stopped = False

    def wait(self, timeout_s: float) -> int | None:
        """The exit code, or None if it was still running at the timeout."""
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def interrupt(self) -> None:
        """Ctrl-C as a user would press it (the whole process group)."""
        self._signal_group(signal.SIGINT)

    def stop(self, grace_s: float = 10.0) -> list[tuple[float, float]]:
        """SIGTERM, then after `grace_s` SIGKILL for whatever the meter still holds;
        returns the CPU series. Safe to call twice."""
        if self.stopped:
            return []
        self.stopped = True
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            self.wait(grace_s)
        series = self._sampler.unwatch(self.name)
        self.meter.kill_all()
        self._signal_group(signal.SIGKILL)
        self.wait(5.0)
        self.meter.remove()
        self._log.close()
        return series

    def _signal_group(self, sig: signal.Signals) -> None:
        """Only while our leader is unreaped: a reaped pid (and so its group id) may be reused
        by a process that is not ours; what outlives the leader, the meter ends."""
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


class Registry:
    """Everything started so far, ended in reverse order by `close()`."""

    def __init__(self) -> None:
        self._launched: list[Launched] = []

    def add(self, launched: Launched) -> Launched:
        self._launched.append(launched)
        return launched

    def close(self) -> None:
        for launched in reversed(self._launched):
            launched.stop(grace_s=5.0)
        self._launched.clear()
