"""Many-calls benchmark: 100,000 calls on the simulator with zero delays, through
`fleetbench run`, with calls/s and the peak RSS of every process the run starts.

Each size runs `fleetbench run <suite> --phase baseline --plan full --models sim/... --repeat R
--config fleet.yaml --runs-dir <tmp>` as a user would, with the simulator the run starts
itself (`simulator:` in fleet.yaml: a brain with ttft_ms 0, itl_ms 0 and 4 output tokens).
The run is started inside its own meter (a cgroup v2 group where one is writable), so every
process it starts is sampled, Ray's daemons and workers included, and ended afterwards.
Printed per size: calls/s over the wall time and over the steady part (10 % to 90 % of the
records), client CPU per call, and each role's peak RSS (driver, subagent, collector,
limiter, Ray's daemons, the simulator), overall and per stage (start-up, calls, after the
last record). Then the smallest and the largest size side by side: each role's largest
process, and what each stage added, per call added; memory that is bounded adds nothing
per call (the verdict: under 256 bytes, see procmem/report.py). Exit 1 when a run did not
end with every call ok or a judged stage is not bounded. Method: benchmarks/MANY_CALLS.md.

    .venv/bin/python benchmarks/many_calls.py [--calls 10000,100000] [--concurrency 64] [--json FILE]
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import msgspec
from procmem.aggregate import ProcessPeak, RoleRow, by_role, compare
from procmem.report import BYTES_PER_CALL_LIMIT, STAGES, comparison_lines, role_lines, stage_growth, unbounded
from procmem.sample import RssSampler
from sidebyside.cpu import MeterFactory, Sampler
from sidebyside.figures import count_rate
from sidebyside.procs import Registry
from simload.fleet_run import interrupt_on_signals, read_records, run_command, run_watched
from simload.inputs import KeyPlan, write_fleet_config, write_sim_config, write_suite
from simload.progress import first_and_last_record_s, steady_rate

REPO = Path(__file__).resolve().parent.parent
DEFAULT_JSON = REPO / "benchmarks" / "results" / "many_calls.json"
MODELS = ("sim/zero-a", "sim/zero-b", "sim/zero-c", "sim/zero-d")


class SizeResult(msgspec.Struct, kw_only=True):
    calls: int
    shape: str
    exit_code: int | None
    wall_s: float
    records: int
    ok: int
    lost: int
    rate_wall: float
    rate_steady: float | None
    steady_window_s: float | None
    first_record_s: float | None
    last_record_s: float | None
    cpu_ms_per_call: float | None
    peak_total_rss: int
    roles: list[RoleRow]
    stages: dict[str, dict[str, int]]  # stage -> role -> largest RSS sampled in it
    processes: list[ProcessPeak]


@dataclass(frozen=True)
class Settings:
    concurrency: int
    workers: int
    output_tokens: int
    limit_s: float


def plan_for(calls: int) -> KeyPlan:
    """Both the suite (the driver parses and plans every item) and the repeats per item
    grow with the calls: 5 repeats at 10,000 calls or fewer, 5 more per tenfold, and as
    many items as that leaves (10,000 = 500 x 4 x 5; 100,000 = 2,500 x 4 x 10)."""
    tenfolds = max(0, round(math.log10(max(calls, 1) / 10_000)))
    repeat = 5 * (1 + tenfolds)
    return KeyPlan.at_least(calls, MODELS, repeat)


def run_size(calls: int, settings: Settings, workdir: Path, meters: MeterFactory) -> SizeResult:
    plan = plan_for(calls)
    rundir = workdir / f"calls-{plan.keys}"
    rundir.mkdir()
    sim_config = write_sim_config(rundir / "sim.yaml",
                                  brain={"ttft_ms": 0, "itl_ms": 0, "output_tokens": settings.output_tokens})
    suite = write_suite(rundir / "suite.yaml", plan, name="many-calls", max_tokens=settings.output_tokens)
    config = write_fleet_config(rundir / "fleet.yaml", sim_config=sim_config, concurrency=settings.concurrency,
                                workers=settings.workers, retry={"max_attempts": 3})
    runs_dir = rundir / "runs"
    command = run_command(suite, config, list(plan.models), runs_dir, repeat=plan.repeat)
    print("$ " + " ".join(command), flush=True)
    sampler, registry = Sampler(), Registry()
    meter = meters.make(f"calls-{plan.keys}")
    rss = RssSampler(meter.pids)
    try:
        run = run_watched(command, meter, sampler, rundir / "fleetbench.log", runs_dir, registry,
                          limit_s=settings.limit_s)
    finally:
        peaks = rss.close()
        registry.close()
        sampler.close()
    first, last = first_and_last_record_s(run.progress)
    t0, t1, t2 = (run.started_epoch + (first or 0.0), run.started_epoch + (last or run.wall_s),
                  run.started_epoch + run.wall_s)
    stages = dict(zip(STAGES, (rss.role_peaks_between(run.started_epoch, t0), rss.role_peaks_between(t0, t1),
                               rss.role_peaks_between(t1, t2)), strict=True))
    _, records = read_records(runs_dir)
    keys = {r.key for r in records}
    steady = steady_rate(run.progress, len(records))
    cpu_s = run.cpu_series[-1][1] - run.cpu_series[0][1] if len(run.cpu_series) > 1 else None
    ok = sum(1 for r in records if r.status == "ok")
    return SizeResult(
        calls=plan.keys, shape=f"{plan.items} items x {len(plan.models)} models x {plan.repeat} repeats",
        exit_code=run.exit_code, wall_s=run.wall_s, records=len(records), ok=ok,
        lost=len(set(plan.planned_keys()) - keys), rate_wall=ok / run.wall_s,
        rate_steady=steady.rate if steady else None, steady_window_s=(steady.end_s - steady.start_s) if steady else None,
        first_record_s=first, last_record_s=last,
        cpu_ms_per_call=1000 * cpu_s / ok if cpu_s is not None and ok else None,
        peak_total_rss=rss.peak_total, roles=by_role(peaks), stages=stages, processes=peaks)


def size_lines(result: SizeResult) -> list[str]:
    wall = count_rate(result.ok, result.wall_s)
    steady = (f"{result.rate_steady:.0f} calls/s steady (10 % to 90 % of the records, over "
              f"{result.steady_window_s:.1f} s)" if result.rate_steady and result.steady_window_s else "no steady part")
    lines = [
        (f"{result.calls} calls ({result.shape}): fleetbench exit {result.exit_code}, {result.records} records "
         f"({result.ok} ok, {result.lost} keys without a record), wall {result.wall_s:.1f} s"),
        (f"  {wall.point or 0:.0f} calls/s over the wall time [{wall.lo or 0:.0f}, {wall.hi or 0:.0f}] (n {wall.n}); "
         f"{steady}; first record at {result.first_record_s or 0:.1f} s, last at {result.last_record_s or 0:.1f} s"),
        (f"  client CPU {result.cpu_ms_per_call or 0:.2f} ms per call (every process of the run, the simulator's "
         "included, start-up to exit)"),
    ]
    return lines + ["  " + line for line in role_lines(result.roles, result.peak_total_rss, result.stages)]


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", default="10000,100000", help="comma-separated sizes, run in this order")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--output-tokens", type=int, default=4)
    parser.add_argument("--limit-seconds", type=float, default=3600.0, help="Ctrl-C a run after this long")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(c) for c in args.calls.split(",") if c.strip()]
    except ValueError:
        parser.error(f"--calls: not a comma-separated list of integers: {args.calls!r}")
    if not args.sizes or any(c < 1 for c in args.sizes) or args.concurrency < 1 or args.workers < 1:
        parser.error("--calls, --concurrency and --workers must be at least 1")
    return args


def main(argv: list[str]) -> int:
    args = _parse_args(argv)
    interrupt_on_signals()
    settings = Settings(concurrency=args.concurrency, workers=args.workers, output_tokens=args.output_tokens,
                        limit_s=args.limit_seconds)
    workdir = Path(tempfile.mkdtemp(prefix="many-calls-"))
    meters = MeterFactory(f"fleetbench-many-calls-{os.getpid()}")
    load_before = os.getloadavg()
    print(f"many calls: sizes {args.sizes}, concurrency {args.concurrency}, {args.workers} worker(s), zero-delay "
          f"simulator brain ({args.output_tokens} tokens); {os.cpu_count()} cores, load {load_before[0]:.2f} "
          f"{load_before[1]:.2f} {load_before[2]:.2f}; meter: {meters.kind}; work dir {workdir}", flush=True)
    results: list[SizeResult] = []
    try:
        for calls in args.sizes:
            results.append(run_size(calls, settings, workdir, meters))
            print("\n".join(size_lines(results[-1])), flush=True)
    except KeyboardInterrupt:
        print("interrupted: stopping everything started", flush=True)
        return 130
    finally:
        meters.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    small, large = results[0], results[-1]
    changes = compare(small.roles, large.roles) if len(results) > 1 else []
    growth = stage_growth(small.stages, large.stages, small.calls, large.calls) if len(results) > 1 else []
    if changes:
        print(f"\npeak RSS of each role's largest process, {small.calls} calls against {large.calls} (MiB):")
        print("\n".join("  " + line for line in comparison_lines(changes, growth)))
    failing = unbounded(growth)
    load_after = os.getloadavg()
    print(f"load (1/5/15 min) before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    document = {"started": datetime.datetime.now(datetime.UTC).isoformat(), "concurrency": args.concurrency,
                "workers": args.workers, "load_before": load_before, "load_after": load_after,
                "results": results, "largest_process": changes, "stage_growth": growth,
                "bytes_per_call_limit": BYTES_PER_CALL_LIMIT, "unbounded": failing}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_bytes(msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n")
    print(f"figures: {args.json}")
    complete = all(r.exit_code == 0 and r.lost == 0 and r.ok == r.calls for r in results)
    return 0 if complete and not failing else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
