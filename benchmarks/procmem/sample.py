"""RSS of every process a meter holds, sampled on a background thread.

Why both RSS and VmHWM: the kernel keeps each process's peak resident set (`VmHWM` in
/proc/<pid>/status), which only ever rises, so reading it at every sample catches a
spike between two samples; the RSS of the moment gives the total over time. A process
that lives and dies between two samples is missed. The pids come from the meter
(sidebyside/cpu.py): a cgroup v2 group holds every descendant however Ray re-parents its
daemons; the psutil fallback knows the tree under the started process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import psutil

from procmem.aggregate import ProcessPeak
from procmem.roles import role_of


def vm_hwm_bytes(status_text: str) -> int | None:
    """`VmHWM` (peak resident set) from /proc/<pid>/status text, in bytes."""
    for line in status_text.splitlines():
        if line.startswith("VmHWM:"):
            parts = line.split()
            return int(parts[1]) * 1024 if len(parts) >= 2 and parts[1].isdigit() else None
    return None


def window_peaks(roles: Mapping[tuple[int, float], str], series: Mapping[tuple[int, float], Sequence[tuple[float, int]]],
                 start: float, end: float) -> dict[str, int]:
    """Per role, the largest sample of any of its processes inside [start, end]."""
    peaks: dict[str, int] = {}
    for key, samples in series.items():
        inside = [rss for at, rss in samples if start <= at <= end]
        if inside:
            role = roles[key]
            peaks[role] = max(peaks.get(role, 0), max(inside))
    return peaks


class RssSampler:
    """Peaks per process and the per-sample total, until `close()`."""

    def __init__(self, pids: Callable[[], Iterable[int]], interval_s: float = 0.2) -> None:
        self._pids = pids
        self._interval_s = interval_s
        self.peaks: dict[tuple[int, float], ProcessPeak] = {}
        self.total: list[tuple[float, int]] = []  # (epoch s, RSS summed over the processes then)
        self.series: dict[tuple[int, float], list[tuple[float, int]]] = {}  # per process: (epoch s, RSS)
        self._procs: dict[int, psutil.Process] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def sample(self) -> None:
        with self._lock:
            total = 0
            now = time.time()
            for pid in list(self._pids()):
                proc = self._procs.get(pid)
                try:
                    if proc is None or not proc.is_running():
                        proc = self._procs[pid] = psutil.Process(pid)
                    key = (pid, proc.create_time())
                    rss = proc.memory_info().rss
                    cmdline = proc.cmdline()
                    name = proc.name()
                    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
                        hwm = vm_hwm_bytes(fh.read())
                except (psutil.Error, OSError):
                    continue
                total += rss
                if not cmdline:  # exiting (a zombie) or between fork and exec: no role to read
                    continue
                role = role_of(cmdline, name)
                peak = self.peaks.get(key)
                if peak is None:
                    peak = self.peaks[key] = ProcessPeak(pid=pid, started=key[1], role=role)
                series = self.series.setdefault(key, [])
                if not peak.see(rss, hwm, role, " ".join(cmdline)[:120]):
                    series.clear()
                series.append((now, rss))
            self.total.append((now, total))

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.sample()

    def close(self) -> list[ProcessPeak]:
        self._stop.set()
        self._thread.join(timeout=5)
        with self._lock:
            return list(self.peaks.values())

    def role_peaks_between(self, start: float, end: float) -> dict[str, int]:
        """Per role, the largest RSS any of its processes was sampled at within [start, end]
        (epoch s; RSS samples only: the kernel's high-water mark has no time)."""
        with self._lock:
            return window_peaks({key: self.peaks[key].role for key in self.series}, self.series, start, end)

    @property
    def peak_total(self) -> int:
        return max((t for _, t in self.total), default=0)
