"""fleetbench and guidellm side by side on guidellm's own mock server, judged by the mock.

For each concurrency c, guidellm (constant concurrency, its `concurrent` profile) and
then fleetbench (`fleetbench run SUITE --phase baseline --models openai/mock-llm
--concurrency C`, as a user load-testing one endpoint) each load a fresh
`guidellm mock-server --ttft-ms 50 --itl-ms 5 --output-tokens 64`. One stream ideally
takes 0.365 s, so c streams can do c / 0.365 requests/s. Per run it prints what the tool
completed; the rate overall and at full load as the mock counted it; TTFT p50/p95 as the
tool reports them and as the mock served them, and the difference (inflation); the client
CPU per request of every process the tool started (Ray's daemons included). Then the
targets, as ratios within this run. Method: benchmarks/SIDE_BY_SIDE.md.

    .venv/bin/python benchmarks/side_by_side.py [--concurrency 1,16,64,256] [--seconds 20]
        [--json benchmarks/results/side_by_side.json] [--tools guidellm,fleetbench]

The first run installs guidellm 0.8.1 (with a CPU torch) into ~/.cache/fleetbench/guidellm-venv.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import FrameType

import msgspec
from sidebyside import guidellm_tool
from sidebyside.cpu import MeterFactory, Sampler
from sidebyside.procs import Registry
from sidebyside.results import Row, check_lines, check_targets, table_lines
from sidebyside.session import TOOLS, Session, Settings

REPO = Path(__file__).resolve().parent.parent
DEFAULT_JSON = REPO / "benchmarks" / "results" / "side_by_side.json"


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", default="1,16,64,256", help="comma-separated levels")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="guidellm's duration per run; fleetbench gets work for about as long")
    parser.add_argument("--tools", default=",".join(TOOLS), help="guidellm,fleetbench (in this order per c)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="write every figure here")
    parser.add_argument("--guidellm-venv", type=Path, default=guidellm_tool.DEFAULT_VENV)
    parser.add_argument("--fleetbench-max-seconds", type=float, default=None,
                        help="Ctrl-C fleetbench after this long (default max(180, 8 x --seconds))")
    parser.add_argument("--ttft-ms", type=float, default=50.0)
    parser.add_argument("--itl-ms", type=float, default=5.0)
    parser.add_argument("--output-tokens", type=int, default=64)
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, archives)")
    parser.add_argument("--render", type=Path, default=None,
                        help="print the table and checks of a JSON written earlier, run nothing")
    args = parser.parse_args(argv)
    try:
        args.levels = [int(c) for c in args.concurrency.split(",")]
    except ValueError:
        parser.error(f"--concurrency: not a comma-separated list of integers: {args.concurrency!r}")
    if any(c < 1 for c in args.levels):
        parser.error("--concurrency: every level must be at least 1")
    args.tool_list = [t for t in args.tools.split(",") if t]
    if not args.tool_list or any(t not in TOOLS for t in args.tool_list):
        parser.error(f"--tools: choose from {', '.join(TOOLS)}")
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    return args


def _commit() -> str:
    done = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=False)
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, check=False).stdout.strip()
    return (done.stdout.strip() or "unknown") + ("+dirty" if dirty else "")


def _row_line(row: Row) -> str:
    plateau = row.plateau_rps.point if row.plateau_rps else None
    inflation = row.matched_inflation_p50_ms.point
    return (f"c={row.concurrency} {row.tool}: {row.reported.completed} completed ({row.mock_served} served, "
            f"{row.mock_aborted} aborted), plateau {plateau or 0:.1f} req/s "
            f"({(plateau or 0) / row.ideal_rps:.2f} of ideal), TTFT inflation p50 per request "
            f"{inflation if inflation is not None else float('nan'):+.1f} ms, "
            f"CPU {row.cpu_ms_per_request or float('nan'):.1f} ms/req; {row.conditions.wall_s:.0f} s, "
            f"exit {row.conditions.exit_code}{' (interrupted)' if row.conditions.interrupted else ''}"
            f"{'; ' + row.reported.note if row.reported.note else ''}")


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def render(path: Path) -> int:
    """Table and checks again from a JSON this script wrote (for the README, say)."""
    try:
        document = msgspec.json.decode(path.read_bytes())
        rows = msgspec.convert(document["rows"], list[Row])
    except (OSError, msgspec.DecodeError, msgspec.ValidationError, KeyError, TypeError) as exc:
        print(f"{path}: not a side-by-side JSON ({exc})", file=sys.stderr)
        return 2
    print(f"run {document.get('started')} at {document.get('commit')}; load before {document.get('load_before')}, "
          f"after {document.get('load_after')}; CPU meter: {document.get('cpu_meter')}")
    print("\n".join(table_lines(rows)))
    print()
    print("\n".join(check_lines(check_targets(rows))))
    return 0


def main(argv: list[str]) -> int:
    args = _parse_args(argv)
    if args.render is not None:
        return render(args.render)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    # Ctrl-C even when started in the background, where the shell hands SIGINT over ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    python = guidellm_tool.ensure_guidellm(args.guidellm_venv)
    settings = Settings(seconds=args.seconds, ttft_ms=args.ttft_ms, itl_ms=args.itl_ms,
                        output_tokens=args.output_tokens, guidellm_python=python,
                        fleetbench_max_s=args.fleetbench_max_seconds or max(180.0, 8 * args.seconds))
    workdir = Path(tempfile.mkdtemp(prefix="side-by-side-"))
    meters = MeterFactory(f"fleetbench-side-by-side-{os.getpid()}")
    sampler, registry = Sampler(), Registry()
    rows: list[Row] = []
    started = datetime.datetime.now(datetime.UTC)
    commit = _commit()  # the code this run loads now, not whatever the tree holds by its end
    load_start = os.getloadavg()
    print(f"side by side: mock ttft {args.ttft_ms:g} ms, itl {args.itl_ms:g} ms, {args.output_tokens} tokens "
          f"(ideal {settings.ideal_request_s:.3f} s per request); {os.cpu_count()} cores; "
          f"load {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}; CPU meter: {meters.kind}; "
          f"work dir {workdir}", flush=True)
    interrupted = False
    try:
        session = Session(settings, workdir, meters, sampler, registry)
        for c in args.levels:
            expected: float | None = None
            for tool in args.tool_list:
                row = session.run(tool, c, expected)
                if tool == "guidellm" and row.plateau_rps is not None:
                    expected = row.plateau_rps.point
                rows.append(row)
                print(_row_line(row), flush=True)
    except KeyboardInterrupt:
        interrupted = True
        print("interrupted: stopping everything started", flush=True)
    finally:
        registry.close()
        sampler.close()
        meters.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    load_end = os.getloadavg()
    checks = check_targets(rows)
    print()
    print("\n".join(table_lines(rows)))
    print()
    print("\n".join(check_lines(checks)))
    print(f"\nload (1/5/15 min) before {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}, "
          f"after {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}; CPU meter: {meters.kind}")
    document = {"started": started.isoformat(), "commit": commit, "guidellm": guidellm_tool.GUIDELLM_VERSION,
                "cores": os.cpu_count(), "cpu_meter": meters.kind, "load_before": load_start,
                "load_after": load_end, "interrupted": interrupted,
                "settings": {"seconds": args.seconds, "ttft_ms": args.ttft_ms, "itl_ms": args.itl_ms,
                             "output_tokens": args.output_tokens, "ideal_request_s": settings.ideal_request_s,
                             "concurrency": args.levels, "tools": args.tool_list},
                "rows": rows, "checks": checks}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_bytes(msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n")
    print(f"figures: {args.json}")
    if interrupted:
        return 130
    return 0 if checks and all(check.passed for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
