"""One row per (concurrency, tool), the targets as ratios between tools, and the table.

Why ratios within one run: the machine is shared with other engineers' work, so absolute
rates and CPU figures move from run to run; fleetbench and guidellm, run back to back at
each concurrency against the same mock, see nearly the same machine.
"""

from __future__ import annotations

import msgspec

from sidebyside.figures import Figure, count_rate, difference, percentile
from sidebyside.served import Served, matched_inflation_ms, mock_ttfts_ms, plateau, served_span_rate
from sidebyside.tool_report import ToolReport

THROUGHPUT_RATIO = 1.25
THROUGHPUT_AT = (16, 64, 256)
TTFT_ABSOLUTE_MS = 2.0
TTFT_ABSOLUTE_UP_TO = 16
CPU_RATIO = 0.5


class RunConditions(msgspec.Struct, frozen=True, kw_only=True):
    """How the run went and how busy the machine was around it."""

    wall_s: float
    exit_code: int | None
    interrupted: bool
    load_before: float
    load_after: float
    others_busy_cores: float | None  # machine CPU minus the tool's and the mock's, per wall second
    cpu_meter: str


class Row(msgspec.Struct, frozen=True, kw_only=True):
    concurrency: int
    tool: str
    ideal_rps: float
    reported: ToolReport
    mock_served: int
    mock_aborted: int
    achieved_rps: float | None
    achieved_of_ideal: float | None
    plateau_rps: Figure | None
    plateau_of_ideal: float | None
    plateau_s: float | None
    plateau_in_flight: float | None
    mock_ttft_p50_ms: Figure
    mock_ttft_p95_ms: Figure
    inflation_p50_ms: float | None
    inflation_p95_ms: float | None
    matched_inflation_p50_ms: Figure  # per request, matched by completion id
    matched_inflation_p95_ms: Figure
    cpu_ms_per_request: float | None  # inside the full-load window
    cpu_ms_per_request_whole: float | None  # whole run, start-up and shutdown included
    mock_cpu_ms_per_request: float | None  # the server's, inside the window
    conditions: RunConditions


def build_row(*, concurrency: int, ideal_rps: float, reported: ToolReport, served: list[Served],
              tool_ttft_by_id: dict[str, float], tool_cpu_window_s: float | None, tool_cpu_whole_s: float | None, mock_cpu_window_s: float | None,
              conditions: RunConditions) -> Row:
    """Everything a row shows, from the tool's report, the mock's log and the CPU meters
    (the CPU in the window is read by the caller from the series, at `plateau_window`)."""
    window = plateau(served, concurrency)
    achieved = served_span_rate(served)
    rate = count_rate(window.served, window.seconds) if window else None
    ok = sum(1 for r in served if r.ok)
    mock_p50, mock_p95 = percentile(mock_ttfts_ms(served), 50), percentile(mock_ttfts_ms(served), 95)
    matched = matched_inflation_ms(served, tool_ttft_by_id)

    def per_request(cpu_s: float | None, requests: int) -> float | None:
        return None if cpu_s is None or requests == 0 else 1000.0 * cpu_s / requests

    return Row(concurrency=concurrency, tool=reported.tool, ideal_rps=ideal_rps, reported=reported,
               mock_served=ok, mock_aborted=len(served) - ok, achieved_rps=achieved,
               achieved_of_ideal=None if achieved is None else achieved / ideal_rps, plateau_rps=rate,
               plateau_of_ideal=None if rate is None or rate.point is None else rate.point / ideal_rps,
               plateau_s=window.seconds if window else None,
               plateau_in_flight=window.mean_in_flight if window else None,
               mock_ttft_p50_ms=mock_p50, mock_ttft_p95_ms=mock_p95,
               inflation_p50_ms=difference(reported.ttft_p50_ms, mock_p50),
               inflation_p95_ms=difference(reported.ttft_p95_ms, mock_p95),
               matched_inflation_p50_ms=percentile(matched, 50), matched_inflation_p95_ms=percentile(matched, 95),
               cpu_ms_per_request=per_request(tool_cpu_window_s, window.served if window else 0),
               cpu_ms_per_request_whole=per_request(tool_cpu_whole_s, reported.completed),
               mock_cpu_ms_per_request=per_request(mock_cpu_window_s, window.served if window else 0),
               conditions=conditions)


class Check(msgspec.Struct, frozen=True, kw_only=True):
    target: str
    concurrency: int
    fleetbench: float | None
    guidellm: float | None
    passed: bool | None  # None: a figure is missing, which counts as not met
    relative: bool = False  # judged on fleetbench / guidellm, so the ratio is shown

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "n/a"}[self.passed]


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def check_targets(rows: list[Row]) -> list[Check]:
    """The targets, per concurrency that has both tools: throughput (the mock-counted plateau)
    >= 1.25x guidellm's at c = 16, 64, 256; TTFT p50 inflation <= guidellm's at every c
    and <= 2 ms at c <= 16; client CPU per request (full load) <= 0.5x guidellm's.

    The inflation judged is the p50 of the per-request differences (tool minus mock, matched
    by completion id): what the tool adds to each request. The difference of the two p50s,
    also in every row, compares the centres of two distributions and can even come out
    negative when the tool adds something to every request."""
    by_key = {(r.concurrency, r.tool): r for r in rows}
    checks: list[Check] = []
    for c in sorted({r.concurrency for r in rows}):
        fb, gl = by_key.get((c, "fleetbench")), by_key.get((c, "guidellm"))
        if fb is None or gl is None:
            continue
        if c in THROUGHPUT_AT:
            fb_rate = fb.plateau_rps.point if fb.plateau_rps else None
            gl_rate = gl.plateau_rps.point if gl.plateau_rps else None
            ratio = _ratio(fb_rate, gl_rate)
            checks.append(Check(target=f"throughput >= {THROUGHPUT_RATIO}x guidellm's", concurrency=c,
                                fleetbench=fb_rate, guidellm=gl_rate, relative=True,
                                passed=None if ratio is None else ratio >= THROUGHPUT_RATIO))
        fb_inf, gl_inf = fb.matched_inflation_p50_ms.point, gl.matched_inflation_p50_ms.point
        checks.append(Check(target="TTFT p50 inflation <= guidellm's", concurrency=c, fleetbench=fb_inf,
                            guidellm=gl_inf, passed=None if fb_inf is None or gl_inf is None else fb_inf <= gl_inf))
        if c <= TTFT_ABSOLUTE_UP_TO:
            checks.append(Check(target=f"TTFT p50 inflation <= {TTFT_ABSOLUTE_MS:g} ms", concurrency=c,
                                fleetbench=fb_inf, guidellm=gl_inf,
                                passed=None if fb_inf is None else fb_inf <= TTFT_ABSOLUTE_MS))
        ratio = _ratio(fb.cpu_ms_per_request, gl.cpu_ms_per_request)
        checks.append(Check(target=f"client CPU per request <= {CPU_RATIO}x guidellm's", concurrency=c,
                            fleetbench=fb.cpu_ms_per_request, guidellm=gl.cpu_ms_per_request, relative=True,
                            passed=None if ratio is None else ratio <= CPU_RATIO))
    return checks


def _num(value: float | None, spec: str = ".1f", signed: bool = False) -> str:
    if value is None:
        return "-"
    return format(value, ("+" if signed else "") + spec)


def _figure(fig: Figure | None, spec: str = ".1f") -> str:
    return "-" if fig is None or fig.point is None else format(fig.point, spec)


def table_lines(rows: list[Row]) -> list[str]:
    """The table as Markdown: a terminal shows it well enough and the README takes it as is."""
    head = ("| c | tool | completed (tool / mock) | req/s overall (of ideal) | plateau req/s, mock-counted "
            "(of ideal) [n, window, mean open at the mock] | TTFT p50 tool / mock (inflation) ms | TTFT p95 tool / mock (inflation) ms "
            "| per-request inflation p50 / p95 ms [n matched] | client CPU ms/req at plateau (whole run) "
            "| mock CPU ms/req | others' busy cores |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        plateau_text = "-"
        if r.plateau_rps is not None:
            plateau_text = (f"{_num(r.plateau_rps.point)} ({_num(r.plateau_of_ideal, '.2f')}) "
                            f"[{r.plateau_rps.n}, {_num(r.plateau_s, '.1f')} s, {_num(r.plateau_in_flight)} open]")
        lines.append(
            f"| {r.concurrency} | {r.tool} | {r.reported.completed} / {r.mock_served} "
            f"| {_num(r.achieved_rps)} ({_num(r.achieved_of_ideal, '.2f')}) | {plateau_text} "
            f"| {_figure(r.reported.ttft_p50_ms)} / {_figure(r.mock_ttft_p50_ms)} ({_num(r.inflation_p50_ms, signed=True)}) "
            f"| {_figure(r.reported.ttft_p95_ms)} / {_figure(r.mock_ttft_p95_ms)} ({_num(r.inflation_p95_ms, signed=True)}) "
            f"| {_num(r.matched_inflation_p50_ms.point, signed=True)} / "
            f"{_num(r.matched_inflation_p95_ms.point, signed=True)} [{r.matched_inflation_p50_ms.n}] "
            f"| {_num(r.cpu_ms_per_request)} ({_num(r.cpu_ms_per_request_whole)}) "
            f"| {_num(r.mock_cpu_ms_per_request)} | {_num(r.conditions.others_busy_cores, '.2f')} |")
    return lines


def check_lines(checks: list[Check]) -> list[str]:
    lines = ["| target | c | fleetbench | guidellm | ratio | verdict |", "|---|---|---|---|---|---|"]
    for check in checks:
        ratio = _ratio(check.fleetbench, check.guidellm) if check.relative else None
        lines.append(f"| {check.target} | {check.concurrency} | {_num(check.fleetbench, '.2f')} "
                     f"| {_num(check.guidellm, '.2f')} | {_num(ratio, '.2f')} | {check.verdict} |")
    return lines
