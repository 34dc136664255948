"""Per-process peaks summed up per role, and two runs' peaks compared.

Why RSS and per role: RSS is what the kernel charges a process now (shared pages, such
as Ray's object store mappings and the libraries every worker maps, count in each
process that touches them, so a sum over processes overstates the machine's use; the
peak of the per-sample total is reported beside it). Per role, because "bounded memory"
is a claim about each kind of process: a driver or a collector that grows with the
calls, hidden among a dozen flat Ray daemons, would be lost in a grand total.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from procmem.roles import IDLE_WORKER

MIB = 1024 * 1024
EXEC_DROP = 16 * MIB


class ProcessPeak(msgspec.Struct, kw_only=True):
    """One process (pid and start time: a reused pid is another process).

    Why the high-water mark is watched for a drop: a server or daemon is forked from the
    driver and then execs its own program. Until the exec, the child shares the driver's
    pages and shows the driver's RSS; the exec gives it a new address space, whose VmHWM
    starts again from nothing. VmHWM as read is the larger of the kernel's high-water mark
    and the current RSS counter, which is approximate (per-CPU counters), so it dips a
    little now and then; an exec drops it by the driver's whole size. A drop by more than
    a quarter and more than EXEC_DROP is taken for that exec: what was seen before it was
    the driver's memory, not this program's, and is forgotten."""

    pid: int
    started: float
    role: str
    command: str = ""  # the first words of its command line, as last seen
    peak_rss: int = 0
    samples: int = 0
    hwm: int = 0  # the kernel's VmHWM at the last sample

    def see(self, rss: int, hwm: int | None, role: str, command: str = "") -> bool:
        """A sample; False when it began a new program (an exec: forget what came before).
        A Ray worker that hosted an actor and is idle again keeps the actor's role."""
        fresh = hwm is not None and self.hwm - hwm > max(EXEC_DROP, self.hwm // 4)
        if fresh:
            self.peak_rss, self.samples = 0, 0
        self.hwm = hwm if hwm is not None else self.hwm
        self.samples += 1
        self.peak_rss = max(self.peak_rss, rss, hwm or 0)
        if role != IDLE_WORKER or self.role == IDLE_WORKER or fresh:
            self.role = role
        self.command = command or self.command
        return not fresh


class RoleRow(msgspec.Struct, frozen=True, kw_only=True):
    role: str
    processes: int
    peak_max: int  # the largest peak of any one process of this role
    peak_sum: int  # the peaks of all its processes added (not simultaneous: an upper bound)


def by_role(peaks: Iterable[ProcessPeak]) -> list[RoleRow]:
    """One row per role, the heaviest first."""
    grouped: dict[str, list[int]] = {}
    for peak in peaks:
        grouped.setdefault(peak.role, []).append(peak.peak_rss)
    rows = [RoleRow(role=role, processes=len(values), peak_max=max(values), peak_sum=sum(values))
            for role, values in grouped.items()]
    return sorted(rows, key=lambda row: (-row.peak_sum, row.role))


class RoleChange(msgspec.Struct, frozen=True, kw_only=True):
    role: str
    small: int | None  # peak_max in the smaller run (None: no such process there)
    large: int | None
    ratio: float | None  # large / small


def compare(small: Sequence[RoleRow], large: Sequence[RoleRow]) -> list[RoleChange]:
    """Each role's largest process in the small and the large run, and their ratio."""
    a = {row.role: row.peak_max for row in small}
    b = {row.role: row.peak_max for row in large}
    changes = []
    for role in sorted(a.keys() | b.keys(), key=lambda r: -(b.get(r) or a.get(r) or 0)):
        x, y = a.get(role), b.get(role)
        changes.append(RoleChange(role=role, small=x, large=y, ratio=(y / x) if x and y else None))
    return changes


def mib(value: int | None) -> str:
    return "-" if value is None else f"{value / MIB:.0f}"
