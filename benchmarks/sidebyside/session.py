"""One tool run at one concurrency: a fresh mock, the tool, the meters, one row.

Why a fresh mock per run: no keep-alive connection, half-drained stream or warm cache
carries from one tool's run into the next one's, and the mock's own CPU per run is its
own cgroup's. The mock starts before the tool and stops after it, so its log holds every
request the tool sent.
"""

from __future__ import annotations

import math
import os
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sidebyside import fleetbench_tool, guidellm_tool
from sidebyside.cpu import MeterFactory, Sampler, cpu_between, read_machine_busy_seconds
from sidebyside.figures import Figure
from sidebyside.procs import Launched, Registry
from sidebyside.results import Row, RunConditions, build_row
from sidebyside.served import plateau, read_served
from sidebyside.tool_report import ToolReport

TOOLS = ("guidellm", "fleetbench")
HEALTH_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class Settings:
    seconds: float
    ttft_ms: float
    itl_ms: float
    output_tokens: int
    guidellm_python: Path
    fleetbench_max_s: float

    @property
    def ideal_request_s(self) -> float:
        """One stream's request, ideally: TTFT, then an ITL before each further token."""
        return (self.ttft_ms + (self.output_tokens - 1) * self.itl_ms) / 1000.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prompts(count: int) -> list[str]:
    """Short fixed prompts, the same for both tools (the mock's answer ignores them)."""
    return [f"Write a short note about load test item {i}." for i in range(count)]


def fleetbench_requests(concurrency: int, seconds: float, expected_rps: float) -> int:
    """Enough calls to keep c streams busy for about `seconds` at the expected rate (at
    least four turns of every stream, so the full-load window has room)."""
    return max(4 * concurrency, math.ceil(expected_rps * seconds))


def guidellm_rows(concurrency: int, seconds: float, ideal_rps: float) -> int:
    """Dataset rows: more than guidellm could send by its deadline even at the ideal rate,
    so its run ends by time, never by running out of data."""
    return math.ceil(1.2 * ideal_rps * seconds) + concurrency


def _wait_healthy(url: str, mock: Launched) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        if mock.proc.poll() is not None:
            raise RuntimeError(f"the mock exited ({mock.proc.returncode}); see {mock.log_path}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the mock did not answer /health in {HEALTH_TIMEOUT_S:.0f} s; see {mock.log_path}")


def _empty_report(tool: str, note: str) -> ToolReport:
    none = Figure(point=None, lo=None, hi=None, n=0)
    return ToolReport(tool=tool, completed=0, failed=0, ttft_p50_ms=none, ttft_p95_ms=none, note=note)


class Session:
    """Runs tools one after another; everything started is in `registry`."""

    def __init__(self, settings: Settings, workdir: Path, meters: MeterFactory, sampler: Sampler,
                 registry: Registry) -> None:
        self.settings = settings
        self.workdir = workdir
        self.meters = meters
        self.sampler = sampler
        self.registry = registry

    def run(self, tool: str, concurrency: int, expected_rps: float | None) -> Row:
        s = self.settings
        ideal_rps = concurrency / s.ideal_request_s
        rundir = self.workdir / f"{tool}-c{concurrency}"
        rundir.mkdir()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        label = f"{tool}-c{concurrency}"
        mock = self.registry.add(Launched(
            f"mock-{label}", guidellm_tool.mock_command(s.guidellm_python, rundir / "served.jsonl", port,
                                                       s.ttft_ms, s.itl_ms, s.output_tokens),
            self.meters.make(f"mock-{label}"), self.sampler, rundir / "mock.log"))
        _wait_healthy(url, mock)
        if tool == "guidellm":
            data = rundir / "data.jsonl"
            guidellm_tool.write_data(data, prompts(guidellm_rows(concurrency, s.seconds, ideal_rps)), s.output_tokens)
            command = guidellm_tool.benchmark_command(s.guidellm_python, url, concurrency, s.seconds, data,
                                                      rundir / "guidellm.json")
            env, limit_s = dict(os.environ), s.seconds + 180.0
        else:
            expected = expected_rps if expected_rps else 0.5 * ideal_rps
            fleetbench_tool.write_suite(rundir / "suite.yaml",
                                        prompts(fleetbench_requests(concurrency, s.seconds, expected)),
                                        s.output_tokens)
            fleetbench_tool.write_config(rundir / "config.yaml", timeout_s=120.0)
            command = fleetbench_tool.run_command(rundir / "suite.yaml", rundir / "config.yaml", concurrency,
                                                  rundir / "runs")
            env, limit_s = fleetbench_tool.run_env(f"{url}/v1"), s.fleetbench_max_s
        load_before, busy0, t0 = os.getloadavg()[0], read_machine_busy_seconds(), time.time()
        launched = self.registry.add(Launched(label, command, self.meters.make(label), self.sampler,
                                              rundir / f"{tool}.log", env=env, cwd=rundir))
        code = launched.wait(limit_s)
        interrupted = code is None
        if interrupted:
            launched.interrupt()  # as a user's Ctrl-C: the tool may still write what it has
            code = launched.wait(60.0)
        tool_series = launched.stop()
        t1, busy1, load_after = time.time(), read_machine_busy_seconds(), os.getloadavg()[0]
        mock_series = mock.stop()
        served = read_served(rundir / "served.jsonl")
        try:
            report, ttft_by_id = (guidellm_tool.read_report(rundir / "guidellm.json") if tool == "guidellm"
                                  else fleetbench_tool.read_results(rundir / "runs"))
        except (OSError, ValueError, KeyError) as exc:
            report = _empty_report(tool, f"no report ({exc}); exit {code}; see {rundir / (tool + '.log')}")
            ttft_by_id = {}
        window = plateau(served, concurrency)
        tool_whole = tool_series[-1][1] if tool_series else None
        mock_in_run = cpu_between(mock_series, t0, t1) if mock_series else 0.0
        others = None
        if tool_whole is not None:
            others = (busy1 - busy0 - tool_whole - mock_in_run) / (t1 - t0)
        conditions = RunConditions(wall_s=t1 - t0, exit_code=code, interrupted=interrupted,
                                   load_before=load_before, load_after=load_after,
                                   others_busy_cores=others, cpu_meter=self.meters.kind)
        return build_row(
            concurrency=concurrency, ideal_rps=ideal_rps, reported=report, served=served, tool_ttft_by_id=ttft_by_id,
            tool_cpu_window_s=cpu_between(tool_series, window.start, window.end) if window and tool_series else None,
            tool_cpu_whole_s=tool_whole,
            mock_cpu_window_s=cpu_between(mock_series, window.start, window.end) if window and mock_series else None,
            conditions=conditions)
