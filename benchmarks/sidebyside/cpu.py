"""Client CPU of everything a tool starts, Ray's daemons and workers included.

Preferred: a cgroup v2 group per tool run. The tool is started inside it (a shell that
moves itself in, then execs the tool), every descendant inherits it however it was
spawned or re-parented, and the kernel's `cpu.stat` keeps the CPU of processes that have
already exited. The group also tells exactly which processes are ours to end
(`cgroup.kill`), so cleanup never touches another engineer's Ray.

Fallback, where no cgroup v2 hierarchy is writable: psutil over the process tree, sampled
every 0.1 s, each process counted at the most CPU it was seen with. A process that lives
under 0.1 s, or the CPU a process burns after its last sample, is lost; a daemon that
detaches from the tree is missed. The report says which meter was used.

Both meters give a time series of cumulative CPU seconds, so the CPU spent inside the
full-load window can be read off the same way for every tool.
"""

from __future__ import annotations

import bisect
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

CpuSeries = list[tuple[float, float]]  # (epoch seconds, cumulative CPU seconds)


def cgroup2_root(mounts_text: str) -> Path | None:
    """The cgroup v2 mount point from /proc/mounts text (hybrid hosts mount it at
    /sys/fs/cgroup/unified, pure v2 hosts at /sys/fs/cgroup)."""
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == "cgroup2":
            return Path(fields[1])
    return None


def parse_cpu_stat(text: str) -> float:
    """CPU seconds from a cgroup v2 `cpu.stat` (its `usage_usec` line)."""
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "usage_usec":
            return int(value) / 1e6
    raise ValueError("cpu.stat has no usage_usec line")


def machine_busy_seconds(proc_stat_text: str, ticks_per_second: int) -> float:
    """CPU seconds the whole machine has been busy (all but idle and iowait), from the
    `cpu` line of /proc/stat: with our own CPU subtracted, how busy the others kept it."""
    for line in proc_stat_text.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            ticks = [int(v) for v in fields[1:]]
            idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
            # guest time (fields 9, 10) is already inside user and nice
            return (sum(ticks[:8]) - idle) / ticks_per_second
    raise ValueError("/proc/stat has no cpu line")


def read_machine_busy_seconds() -> float:
    return machine_busy_seconds(Path("/proc/stat").read_text(), os.sysconf("SC_CLK_TCK"))


def cpu_between(series: CpuSeries, start: float, end: float) -> float:
    """CPU seconds spent in [start, end], interpolating the cumulative series linearly
    between samples (clamped to the first and last sample outside their span)."""
    if not series:
        raise ValueError("no CPU samples")
    if end < start:
        raise ValueError("window ends before it starts")
    return _cumulative_at(series, end) - _cumulative_at(series, start)


def _cumulative_at(series: CpuSeries, when: float) -> float:
    times = [t for t, _ in series]
    index = bisect.bisect_left(times, when)
    if index == 0:
        return series[0][1]
    if index == len(series):
        return series[-1][1]
    (t0, c0), (t1, c1) = series[index - 1], series[index]
    return c0 + (c1 - c0) * ((when - t0) / (t1 - t0)) if t1 > t0 else c1


class TreeAccount:
    """CPU of a process tree from repeated snapshots: each process (pid plus start time,
    so a reused pid is a new process) counts at the most CPU it was ever seen with, so a
    process that has exited still counts what it had burnt by its last snapshot."""

    def __init__(self) -> None:
        self._seen: dict[tuple[int, float], float] = {}

    def update(self, snapshot: dict[tuple[int, float], float]) -> float:
        for key, cpu in snapshot.items():
            if cpu > self._seen.get(key, 0.0):
                self._seen[key] = cpu
        return self.total

    @property
    def total(self) -> float:
        return sum(self._seen.values())

    @property
    def processes(self) -> int:
        return len(self._seen)


class CgroupMeter:
    """One cgroup v2 group: start commands inside it, read its CPU, end all it holds."""

    kind = "cgroup v2"

    def __init__(self, path: Path) -> None:
        path.mkdir()
        self.path = path

    def wrap(self, command: list[str]) -> list[str]:
        """`sh` writes its own pid into the group, then becomes the tool (no preexec_fn,
        which is unsafe while the sampler thread runs)."""
        return ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(self.path), *command]

    def attach(self, pid: int) -> None:
        """Nothing to do: the wrapper already moved the process in."""

    def cpu_seconds(self) -> float:
        return parse_cpu_stat((self.path / "cpu.stat").read_text())

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        except FileNotFoundError:
            return []

    def kill_all(self) -> None:
        kill_file = self.path / "cgroup.kill"
        if kill_file.exists():
            kill_file.write_text("1")
        else:
            for pid in self.pids():
                _signal_quietly(pid, signal.SIGKILL)

    def remove(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            self.path.rmdir()
        except OSError:
            pass  # still populated after the timeout: leave the empty-able group behind


class TreeMeter:
    """The psutil fallback: the tree under the started process, sampled by `cpu_seconds`."""

    kind = "psutil process tree, sampled every 0.1 s"

    def __init__(self) -> None:
        self._root: psutil.Process | None = None
        self._account = TreeAccount()
        self._known: dict[tuple[int, float], psutil.Process] = {}
        self._lock = threading.Lock()

    def wrap(self, command: list[str]) -> list[str]:
        return command

    def attach(self, pid: int) -> None:
        self._root = psutil.Process(pid)

    def cpu_seconds(self) -> float:
        with self._lock:
            if self._root is None:
                return 0.0
            snapshot: dict[tuple[int, float], float] = {}
            try:
                procs = [self._root, *self._root.children(recursive=True)]
            except psutil.Error:
                procs = []
            for proc in procs:
                try:
                    times = proc.cpu_times()
                    key = (proc.pid, proc.create_time())
                except psutil.Error:
                    continue
                self._known[key] = proc
                snapshot[key] = times.user + times.system
            return self._account.update(snapshot)

    def pids(self) -> list[int]:
        return [p.pid for p in self._known.values() if p.is_running()]

    def kill_all(self) -> None:
        for pid in self.pids():
            _signal_quietly(pid, signal.SIGKILL)

    def remove(self, timeout_s: float = 10.0) -> None:
        """Nothing on disk to remove."""


Meter = CgroupMeter | TreeMeter


def _signal_quietly(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class MeterFactory:
    """Makes one meter per tool run: cgroups under a parent group of this process when
    the v2 hierarchy is writable, else the psutil fallback."""

    def __init__(self, name: str) -> None:
        self._parent: Path | None = None
        root = cgroup2_root(Path("/proc/mounts").read_text()) if Path("/proc/mounts").exists() else None
        if root is not None:
            try:
                parent = root / name
                parent.mkdir()
                self._parent = parent
            except OSError:
                self._parent = None

    @property
    def kind(self) -> str:
        return CgroupMeter.kind if self._parent is not None else TreeMeter.kind

    def make(self, label: str) -> Meter:
        if self._parent is not None:
            return CgroupMeter(self._parent / label)
        return TreeMeter()

    def close(self) -> None:
        if self._parent is not None:
            try:
                self._parent.rmdir()
            except OSError:
                pass


class Sampler:
    """Samples meters on a background thread into CPU series (cgroup reads are a file
    read each; the psutil walk is heavier, hence 0.1 s and not finer)."""

    def __init__(self, interval_s: float = 0.1) -> None:
        self._interval_s = interval_s
        self._meters: dict[str, Callable[[], float]] = {}
        self.series: dict[str, CpuSeries] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)
        self._thread.start()

    def watch(self, name: str, read: Callable[[], float]) -> None:
        with self._lock:
            self._meters[name] = read
            self.series[name] = []
        self.sample_now(name)

    def unwatch(self, name: str) -> CpuSeries:
        self.sample_now(name)
        with self._lock:
            self._meters.pop(name, None)
            return self.series.pop(name, [])

    def sample_now(self, name: str) -> None:
        with self._lock:
            read = self._meters.get(name)
            if read is None:
                return
            try:
                self.series[name].append((time.time(), read()))
            except (OSError, ValueError):
                pass  # the group vanished mid-read; the next sample or the last one counts

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            for name in list(self._meters):
                self.sample_now(name)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
