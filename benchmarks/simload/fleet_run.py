"""`fleetbench run` (and `fleetbench sim serve`) started as a user would, watched from outside.

Why from outside: the figures must not rest on the run's own account of itself. The run's
progress is read off its results.jsonl as it grows (a record is a line, fsync'd before the
collector acknowledges it), the wall time off this process's clock, and every process the
run starts, Ray's daemons included, stays in one meter (sidebyside/cpu.py: a cgroup v2
group where one is writable), which also ends them all whatever happens.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from sidebyside.cpu import Meter, Sampler
from sidebyside.fleetbench_tool import fleetbench_executable
from sidebyside.procs import Launched, Registry

from archive.store import RunStore
from harness.records import CallRecord

SIM_URL_TIMEOUT_S = 60.0


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def interrupt_on_signals() -> None:
    """SIGTERM as Ctrl-C, and Ctrl-C even when started in the background (where the shell
    hands SIGINT over ignored), so a benchmark always ends what it started."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment, never a Ray cluster to join, no usage reporting."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    return env | (extra or {})


def run_command(suite: Path, config: Path, models: list[str], runs_dir: Path, *, repeat: int = 1,
                concurrency: int | None = None, extra: list[str] | None = None) -> list[str]:
    command = [*fleetbench_executable(), "run", str(suite), "--phase", "baseline", "--plan", "full",
               "--models", ",".join(models), "--config", str(config), "--runs-dir", str(runs_dir),
               "--repeat", str(repeat)]
    if concurrency is not None:
        command += ["--concurrency", str(concurrency)]
    return command + (extra or [])


def serve_sim(config: Path, meter: Meter, sampler: Sampler, log_path: Path, registry: Registry) -> tuple[Launched, str]:
    """`fleetbench sim serve --port 0`: the simulator as its own service; its URL is the
    `SIM_URL=` line it prints first."""
    launched = registry.add(Launched("simulator", [*fleetbench_executable(), "sim", "serve", "--config", str(config),
                                                   "--port", "0"], meter, sampler, log_path, env=run_env()))
    deadline = time.monotonic() + SIM_URL_TIMEOUT_S
    while time.monotonic() < deadline:
        for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("SIM_URL="):
                return launched, line.split("=", 1)[1].strip()
        if launched.proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"the simulator did not print its URL; see {log_path}")


class ResultsWatch:
    """Records written so far, from the growth of the one results.jsonl under `runs_dir`
    (newlines counted in the bytes appended since the last look: O(new bytes) a look)."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir
        self.path: Path | None = None
        self._offset = 0
        self.lines = 0

    def look(self) -> int:
        if self.path is None:
            found = list(self.runs_dir.glob("*/*/results.jsonl"))
            if not found:
                return 0
            self.path = found[0]
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except FileNotFoundError:
            return self.lines
        self._offset += len(data)
        self.lines += data.count(b"\n")
        return self.lines


@dataclass
class WatchedRun:
    exit_code: int | None  # None: still running at the time limit, then interrupted
    wall_s: float  # launch to exit, as the user waits for it
    progress: list[tuple[float, int]] = field(default_factory=list)  # (s since launch, records written)
    cpu_series: list[tuple[float, float]] = field(default_factory=list)  # (epoch s, CPU s), the meter's
    log_path: Path | None = None
    started_epoch: float = 0.0  # time.time() at launch: progress times are seconds after it


def run_watched(command: list[str], meter: Meter, sampler: Sampler, log_path: Path, runs_dir: Path,
                registry: Registry, *, limit_s: float, look_every_s: float = 0.5,
                env: dict[str, str] | None = None) -> WatchedRun:
    """Run `command` to its end (or Ctrl-C it, as a user would, after `limit_s`)."""
    watch = ResultsWatch(runs_dir)
    started, started_epoch = time.monotonic(), time.time()
    launched = registry.add(Launched("fleetbench", command, meter, sampler, log_path, env=run_env(env)))
    progress: list[tuple[float, int]] = [(0.0, 0)]
    code: int | None = None
    while True:
        code = launched.wait(look_every_s)
        now = time.monotonic() - started
        progress.append((now, watch.look()))
        if code is not None:
            break
        if now > limit_s:
            launched.interrupt()
            launched.wait(120.0)
            break
    wall_s = time.monotonic() - started
    cpu_series = launched.stop()
    progress.append((wall_s, watch.look()))
    return WatchedRun(exit_code=code, wall_s=wall_s, progress=progress, cpu_series=cpu_series, log_path=log_path,
                      started_epoch=started_epoch)


def read_records(runs_dir: Path) -> tuple[str, list[CallRecord]]:
    """The one run under `runs_dir`: its id and every record line (duplicates kept)."""
    manifests = sorted(runs_dir.glob("*/*/manifest.json"))
    if len(manifests) != 1:
        raise ValueError(f"expected one run under {runs_dir}, found {len(manifests)}")
    run_id = manifests[0].parent.name
    return run_id, RunStore(runs_dir).find(run_id).load_records()
