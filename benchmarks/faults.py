"""Fault benchmark: 10,000 keys against the simulator with 429s (three Retry-After forms),
5xx, cut streams and malformed chunks, audited against the simulator's ground truth.

It runs `fleetbench run <suite> --phase baseline --plan full --models sim/... --config
fleet.yaml --runs-dir <tmp>` as a user would, against `fleetbench sim serve` (the
simulator a run starts itself dies with the run, and its ground truth with it). Of every
model's requests 10 % are answered 429, 5 % 500, 2 % are streams cut without a finish
and 1 % carry a malformed chunk; each Retry-After form (seconds, HTTP-date, milliseconds)
has its own model, so a third of the 429s each. Printed: records, attempts, early
retries, cut or malformed streams recorded ok, lost keys, duplicated keys (each must be
0, or the exit status is 1) and wall time. Method: benchmarks/FAULTS.md.

    .venv/bin/python benchmarks/faults.py [--keys 10000] [--concurrency 128] [--json FILE]
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import msgspec
from faultcheck.mix import DEFAULT_FORMS, DEFAULT_SHARES, arithmetic_lines, fault_rules
from faultcheck.report import figures, lines
from sidebyside.cpu import MeterFactory, Sampler
from sidebyside.procs import Registry
from simload.fleet_run import interrupt_on_signals, read_records, run_command, run_watched, serve_sim
from simload.inputs import (
    SIM_PROVIDER,
    KeyPlan,
    served_provider,
    write_fleet_config,
    write_sim_config,
    write_suite,
)
from simload.progress import first_and_last_record_s, steady_rate

from simulator.client import fetch_truths
from simulator.truth import RequestTruth

REPO = Path(__file__).resolve().parent.parent
DEFAULT_JSON = REPO / "benchmarks" / "results" / "faults.json"
KEY_ENV = "FLEETBENCH_FAULTS_API_KEY"  # the per-form providers' key variable (the simulator takes any key)


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=10_000, help="at least this many keys (rounded up to "
                        "a multiple of the three models)")
    parser.add_argument("--concurrency", type=int, default=128, help="calls in flight (fleetbench --concurrency)")
    parser.add_argument("--workers", type=int, default=1, help="worker actors for the phase")
    parser.add_argument("--provider-per-form", action="store_true",
                        help="serve each Retry-After form as its own provider (its own limiter and pauses) "
                             "instead of all three as sim/: each form's retries then wait for their own 429 only")
    parser.add_argument("--adaptive", action="store_true",
                        help="keep adaptive concurrency on (off by default: random 429s are no ceiling to learn)")
    parser.add_argument("--max-attempts", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7, help="the simulator's fault RNG seed")
    parser.add_argument("--limit-seconds", type=float, default=1800.0, help="Ctrl-C the run after this long")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (inputs, logs, archive)")
    args = parser.parse_args(argv)
    for name in ("keys", "concurrency", "workers", "max_attempts"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def _wall_minus_mono() -> float:
    """time.time() - time.monotonic(), read as a pair as tight as this process can."""
    before = time.monotonic()
    wall = time.time()
    after = time.monotonic()
    return wall - (before + after) / 2


def main(argv: list[str]) -> int:
    args = _parse_args(argv)
    interrupt_on_signals()
    forms = {form.model: form for form in DEFAULT_FORMS}
    provider_of = {form.model: (f"faults-{form.fmt.replace('_', '-')}" if args.provider_per_form else SIM_PROVIDER)
                   for form in DEFAULT_FORMS}
    plan = KeyPlan.at_least(args.keys, tuple(f"{provider_of[m]}/{m}" for m in forms), repeat=1)
    workdir = Path(tempfile.mkdtemp(prefix="faults-"))
    retry = {"max_attempts": args.max_attempts, "base_delay_s": 0.05, "max_delay_s": 0.5, "deadline_s": 300.0}
    limits = {"adaptive": {"enabled": bool(args.adaptive)}}
    sim_config = write_sim_config(workdir / "sim.yaml", brain={"ttft_ms": 5, "itl_ms": 1, "output_tokens": 8},
                                  faults=fault_rules(DEFAULT_FORMS, DEFAULT_SHARES, cut_after_tokens=2),
                                  seed=args.seed)
    suite = write_suite(workdir / "suite.yaml", plan, name="faults", max_tokens=16)
    runs_dir = workdir / "runs"
    load_before = os.getloadavg()
    print(f"fault benchmark: {plan.keys} keys ({plan.items} items x {len(plan.models)} models, "
          f"{'one provider per form' if args.provider_per_form else 'one provider'}), concurrency "
          f"{args.concurrency}, {args.workers} worker(s), adaptive concurrency {'on' if args.adaptive else 'off'}; "
          f"{os.cpu_count()} cores, load {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}; "
          f"work dir {workdir}")
    print("fault rules, tried in order, the first that fires wins (every model: its own 429 rule, then the rest):")
    print("\n".join("  " + line for line in arithmetic_lines(DEFAULT_SHARES)))
    print("Retry-After forms: " + "; ".join(f"{f.fmt} {f.seconds:g} s on {provider_of[f.model]}/{f.model}"
                                             for f in DEFAULT_FORMS))
    print(f"retry policy: {retry}")
    meters = MeterFactory(f"fleetbench-faults-{os.getpid()}")
    sampler, registry = Sampler(), Registry()
    code: int | None = None
    try:
        sim, url = serve_sim(sim_config, meters.make("simulator"), sampler, workdir / "simulator.log", registry)
        key_env = None if not args.provider_per_form else KEY_ENV
        providers = {name: served_provider(url, limits=limits, timeout_s=30.0, api_key_env=key_env)
                     for name in sorted(set(provider_of.values()))}
        config = write_fleet_config(workdir / "fleet.yaml", sim_config=sim_config, concurrency=args.concurrency,
                                    workers=args.workers, retry=retry, providers=providers)
        command = run_command(suite, config, list(plan.models), runs_dir)
        print("$ " + " ".join(command), flush=True)
        offset_before = _wall_minus_mono()
        run = run_watched(command, meters.make("fleetbench"), sampler, workdir / "fleetbench.log", runs_dir,
                          registry, limit_s=args.limit_seconds, env={KEY_ENV: "faults-any-key"} if key_env else None)
        code = run.exit_code
        truths = [RequestTruth(**row) for row in fetch_truths(url, timeout=120.0)]
        offset_after = _wall_minus_mono()
        sim.stop()
        _, records = read_records(runs_dir)
    except KeyboardInterrupt:
        print("interrupted: stopping everything started", flush=True)
        return 130
    finally:
        registry.close()
        sampler.close()
        meters.close()
    first, last = first_and_last_record_s(run.progress)
    steady = steady_rate(run.progress, len(records))
    print(f"fleetbench exit {code} after {run.wall_s:.1f} s (log: {run.log_path}); first record at "
          f"{first or 0:.1f} s, last at {last or 0:.1f} s; "
          + (f"{steady.rate:.1f} records/s from 10 % to 90 % of them" if steady else "no steady part"))
    result = figures(records, truths, plan.planned_keys(), forms, (offset_before + offset_after) / 2)
    load_after = os.getloadavg()
    print("\n".join(lines(result, run.wall_s)))
    drift_ms = abs(offset_after - offset_before) * 1e3
    print(f"load (1/5/15 min) before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, after "
          f"{load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}; wall-minus-monotonic drift over the run "
          f"{drift_ms:.2f} ms; CPU meter: {meters.kind}")
    document = {"started": datetime.datetime.now(datetime.UTC).isoformat(), "keys": plan.keys,
                "concurrency": args.concurrency, "workers": args.workers, "adaptive": args.adaptive,
                "provider_per_form": args.provider_per_form,
                "retry": retry, "exit_code": code, "wall_s": run.wall_s, "load_before": load_before,
                "load_after": load_after, "first_record_s": first, "last_record_s": last,
                "steady_records_per_s": steady.rate if steady else None, "figures": result}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_bytes(msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n")
    print(f"figures: {args.json}")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if result.passed and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
