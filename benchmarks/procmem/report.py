"""The memory table of one run, two runs side by side, and whether memory stayed bounded.

Why growth per added call, stage by stage, and not the ratio of two peaks: a process with
a large fixed base (a Python interpreter with Ray imported is ~200 MiB) hides memory held
per call behind a modest ratio: 240 MiB at 10,000 calls and 550 MiB at 100,000 is "only"
2.3x, yet it is 3.5 KB more per added call, which is 3.5 GB at a million. So each stage's
own addition (its peak over the peak of the stages before it) is compared between the
two sizes and divided by the calls added. A stage is judged bounded under 256 bytes per
added call: two runs of the same size agreed within 2 MiB per role here, and 256 bytes
over the 90,000 calls added from 10,000 to 100,000 is 22 MiB, ten times that; one record
kept in memory costs ~2 KB (100,000 decoded CallRecords take 200 MiB). The simulator is
not judged: it keeps one ground-truth record per request by design.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from procmem.aggregate import RoleChange, RoleRow, mib

BYTES_PER_CALL_LIMIT = 256.0
NOT_JUDGED = frozenset({"simulator"})
STAGES = ("start-up", "calls", "after")  # launch to first record, first to last record, last record to exit
Stages = Mapping[str, Mapping[str, int]]  # stage -> role -> largest RSS sampled in it


def role_lines(rows: Sequence[RoleRow], peak_total: int, stages: Stages) -> list[str]:
    """The table: per role, its processes, the peak of its largest and of all added, and the
    largest RSS sampled in each stage of the run (the kernel's peak has no time)."""
    lines = [f"{'peak RSS (MiB)':<30}{'processes':>10}{'largest':>9}{'all added':>11}"
             + "".join(f"{stage:>10}" for stage in STAGES)]
    for row in rows:
        lines.append(f"{row.role:<30}{row.processes:>10}{mib(row.peak_max):>9}{mib(row.peak_sum):>11}"
                     + "".join(f"{mib(stages.get(stage, {}).get(row.role)):>10}" for stage in STAGES))
    lines.append(f"{'total at its peak moment':<30}{'':>10}{'':>9}{mib(peak_total):>11}")
    lines.append("stages: start-up = launch to the first record; calls = first to last record; after = the last "
                 "record to exit (the run's summary, aggregate and calibration)")
    return lines


def stage_additions(stages: Stages) -> dict[str, dict[str, int]]:
    """Per role, what each stage added: its peak over the largest peak of the stages
    before it (never below 0); the start-up stage adds its whole peak."""
    roles = {role for peaks in stages.values() for role in peaks}
    added: dict[str, dict[str, int]] = {}
    for role in roles:
        before = 0
        for stage in STAGES:
            peak = stages.get(stage, {}).get(role)
            if peak is None:
                continue
            added.setdefault(role, {})[stage] = max(0, peak - before)
            before = max(before, peak)
    return added


class StageGrowth(msgspec.Struct, frozen=True, kw_only=True):
    role: str
    stage: str
    small: int  # bytes the stage added in the smaller run
    large: int
    per_call: float  # (large - small) / calls added

    @property
    def judged(self) -> bool:
        return self.role not in NOT_JUDGED

    @property
    def bounded(self) -> bool:
        return self.per_call < BYTES_PER_CALL_LIMIT


def stage_growth(small: Stages, large: Stages, small_calls: int, large_calls: int) -> list[StageGrowth]:
    """Each role's and stage's addition at both sizes, per call added (roles seen in one
    run only are left out: there is nothing to compare)."""
    if large_calls <= small_calls:
        raise ValueError("the large run must have more calls than the small one")
    a, b = stage_additions(small), stage_additions(large)
    growth = []
    for role in sorted(a.keys() & b.keys()):
        for stage in STAGES:
            if stage in a[role] and stage in b[role]:
                x, y = a[role][stage], b[role][stage]
                growth.append(StageGrowth(role=role, stage=stage, small=x, large=y,
                                          per_call=(y - x) / (large_calls - small_calls)))
    return growth


def unbounded(growth: Sequence[StageGrowth]) -> list[StageGrowth]:
    """The judged role-stages that hold BYTES_PER_CALL_LIMIT or more per added call."""
    return [g for g in growth if g.judged and not g.bounded]


def comparison_lines(changes: Sequence[RoleChange], growth: Sequence[StageGrowth]) -> list[str]:
    header = (f"{'role':<30}{'small':>7}{'large':>7}{'ratio':>7}   added per stage, MiB small -> large "
              "(bytes per added call)")
    lines = [header]
    per_role: dict[str, list[StageGrowth]] = {}
    for g in growth:
        per_role.setdefault(g.role, []).append(g)
    for change in changes:
        ratio = f"{change.ratio:.2f}x" if change.ratio is not None else "-"
        stages = "; ".join(f"{g.stage} {mib(g.small)} -> {mib(g.large)} ({g.per_call:+.0f} B)"
                           for g in per_role.get(change.role, []))
        note = " (one truth record per request, by design)" if change.role in NOT_JUDGED else ""
        lines.append(f"{change.role:<30}{mib(change.small):>7}{mib(change.large):>7}{ratio:>7}   {stages}{note}")
    failing = unbounded(growth)
    lines.append(f"bounded (every stage under {BYTES_PER_CALL_LIMIT:g} bytes per added call, the simulator aside): "
                 + ("yes" if not failing else "NO: " + ", ".join(f"{g.role} {g.stage} ({g.per_call:.0f} B per call)"
                                                                 for g in failing)))
    return lines
