"""Scale figures: `fleetbench aggregate` over 100k, 400k and 1M records against a msgspec decode
pass over the same files, cold (no cache), warm (nothing new) and incremental (one new run);
then the 100k-call run (`benchmarks/many_calls.py --calls 100000`; `--calls 0` skips it).

    .venv/bin/python benchmarks/scale.py                      # seeds itself with a simulator run
    .venv/bin/python benchmarks/scale.py --seed-run DIR       # or reuse a run directory
    .venv/bin/python benchmarks/scale.py --records-per-run 100000   # 10 runs per million instead
    .venv/bin/python benchmarks/scale.py --engines-python /tmp/engines/bin/python   # + DuckDB/Polars

The archives are synthetic but made of real records: a simulator run (`fleetbench run smoke
--models sim/smollm2-135m-sim --repeat 20`, 2100 records over six phases here) is replicated into
dated run directories with fresh run ids, one run per day, in a temporary directory (never
runs/). By default each run is one copy of the seed (477 runs make a million records); with
`--records-per-run N` each run holds N records (the seed repeated with shifted repeat numbers,
so keys stay unique). Smaller archives hard-link the first runs of the largest.

Every figure comes from a child process: it times its own work after its imports (wall and
CPU time; on a shared 2-core machine the ratio of CPU times is the steadier one), and os.wait4
gives its peak RSS, imports included. The decode pass reads every results file line by line and
decodes each line into `harness.records.CallRecord`, keeping nothing (the ratios are against
it); the same pass decoding into plain dicts is shown too: the issue's figures (json.loads 2.8x
slower than msgspec) match that one, which is ~1.4x slower than the typed pass. The aggregate is
`agents.post_run.post_run(..., calibrate_now=False)`, exactly what `fleetbench aggregate` runs;
the CLI itself is timed once more, cold, as a whole process.

`--engines-python` names an interpreter with duckdb and polars installed (a side venv:
`python3 -m venv /tmp/engines && /tmp/engines/bin/pip install duckdb polars`); each computes
the statistics table alone (no lineages, no phase sections) over the same files, for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from archive.run_id import new_run_id
from archive.store import MANIFEST, RESULTS
from harness.records import CallRecord, decode_line

ROOT = Path(__file__).resolve().parent.parent

PYTHON = sys.executable
FLEETBENCH = str(Path(PYTHON).with_name("fleetbench"))
SEED_COMMAND = ["run", "smoke", "--models", "sim/smollm2-135m-sim", "--repeat", "20"]
# each child times its own work after its imports and prints (wall s, CPU s, RSS MB after imports)
TIMED = """
import resource, sys, time
def timed(work):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    print(time.perf_counter() - wall, time.process_time() - cpu, rss)
"""
DECODE_PASS = TIMED + """
from pathlib import Path
from harness.records import decode_line
def work():
    for path in sorted(Path(sys.argv[1]).glob("20*/*/results.jsonl")):
        with open(path, "rb") as fh:
            for line in fh:
                if line.strip():
                    decode_line(line)
timed(work)
"""
UNTYPED_DECODE_PASS = DECODE_PASS.replace("from harness.records import decode_line", "from msgspec.json import decode as decode_line")
AGGREGATE = TIMED + """
from pathlib import Path
from agents.config import load_config
from agents.post_run import post_run
timed(lambda: post_run(Path(sys.argv[1]), load_config(None), calibrate_now=False))  # `fleetbench aggregate`
"""
EXACT_CHECK = """
import json, sys
from pathlib import Path
from harness.records import decode_line
from harness.timing import percentile
values = {}
for path in sorted(Path(sys.argv[1]).glob("20*/*/results.jsonl")):
    with open(path, "rb") as fh:
        for line in fh:
            r = decode_line(line)
            if r.status == "ok":
                group = values.setdefault((r.phase, r.model, r.variant), ([], []))
                if r.ttft_ms is not None: group[0].append(r.ttft_ms)
                if r.e2e_ms is not None: group[1].append(r.e2e_ms)
worst = 0.0
for row in json.loads((Path(sys.argv[1]) / "aggregate.json").read_text())["overall"]:
    ttft, e2e = values.get((row["phase"], row["model"], row["variant"]), ([], []))
    for got, exact in ((row["ttft_p50_ms"], percentile(ttft, 50)), (row["ttft_p95_ms"], percentile(ttft, 95)),
                       (row["e2e_p50_ms"], percentile(e2e, 50)), (row["e2e_p95_ms"], percentile(e2e, 95))):
        if exact:
            worst = max(worst, abs(got - exact) / exact)
print(worst)
"""
ENGINE_PASS = """
import glob
files = sorted(glob.glob(sys.argv[1] + "/20*/*/results.jsonl"))
def duck():
    columns = {"phase": "VARCHAR", "model": "VARCHAR", "variant": "VARCHAR", "status": "VARCHAR",
               "ttft_ms": "DOUBLE", "e2e_ms": "DOUBLE", "input_tokens": "BIGINT", "output_tokens": "BIGINT",
               "cost_usd": "DOUBLE"}
    rows = duckdb.connect().execute(
        "SELECT phase, model, variant, count(*), count(*) FILTER (status = 'ok'), "
        "count(*) FILTER (status = 'error'), quantile_cont(ttft_ms, [0.5, 0.95]) FILTER (status = 'ok'), "
        "quantile_cont(e2e_ms, [0.5, 0.95]) FILTER (status = 'ok'), sum(input_tokens), sum(output_tokens), "
        f"sum(cost_usd) FROM read_json({files!r}, format = 'newline_delimited', columns = {columns!r}) "
        "GROUP BY ALL").fetchall()
def polar():
    schema = {"phase": pl.String, "model": pl.String, "variant": pl.String, "status": pl.String,
              "ttft_ms": pl.Float64, "e2e_ms": pl.Float64, "input_tokens": pl.Int64, "output_tokens": pl.Int64,
              "cost_usd": pl.Float64}
    ok = pl.col("status") == "ok"
    aggs = [pl.len().alias("calls"), ok.sum().alias("ok"), (pl.col("status") == "error").sum().alias("error"),
            pl.col("input_tokens").sum(), pl.col("output_tokens").sum(), pl.col("cost_usd").sum()]
    for col in ("ttft_ms", "e2e_ms"):
        aggs += [pl.col(col).filter(ok).quantile(q, "linear").alias(f"{col}_{q}") for q in (0.5, 0.95)]
    rows = pl.scan_ndjson(files, schema=schema).group_by("phase", "model", "variant").agg(aggs).collect().rows()
import duckdb, polars as pl
timed(duck if sys.argv[2] == "duckdb" else polar)
"""


@dataclass(frozen=True)
class Measured:
    """A child process: its whole wall/CPU time and peak RSS, and what it printed."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    stdout: str

    @property
    def work(self) -> tuple[float, float, float]:
        """(wall s, CPU s, RSS MB before the work) as a TIMED child printed them."""
        wall, cpu, rss = (float(v) for v in self.stdout.split()[-3:])
        return wall, cpu, rss

    def cells(self) -> str:
        wall, cpu, rss = self.work
        return f"{wall:6.2f} s wall {cpu:6.2f} s CPU  peak {self.peak_rss_mb:4.0f} MB ({rss:3.0f} after imports)"


def measure(argv: list[str]) -> Measured:
    """Run a child process to completion; its wall time, CPU time and peak RSS (os.wait4)."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    out, err = child.stdout.read(), child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({child.returncode}):\n{err.decode(errors='replace')}")
    return Measured(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.decode().strip())


def best_of(argv: list[str], reps: int, prepare: Callable[[], object] | None = None) -> Measured:
    """The fastest of `reps` runs (by CPU); `prepare` runs before each."""
    runs = []
    for _ in range(reps):
        if prepare is not None:
            prepare()
        runs.append(measure(argv))
    return min(runs, key=lambda m: m.cpu_s)


def seed_records(seed_run: Path | None, work: Path) -> tuple[list[CallRecord], dict[str, object]]:
    """The seed run's records and manifest: the given run directory, or a fresh simulator run."""
    if seed_run is None:
        runs = work / "seed"
        print(f"seeding: fleetbench {' '.join(SEED_COMMAND)} --runs-dir {runs}", flush=True)
        subprocess.run([FLEETBENCH, *SEED_COMMAND, "--runs-dir", str(runs)], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        seed_run = next(runs.glob(f"20*/*/{RESULTS}")).parent
    lines = (seed_run / RESULTS).read_bytes().splitlines()
    manifest = json.loads((seed_run / MANIFEST).read_text())
    return [decode_line(line) for line in lines if line.strip()], manifest


def write_run(root: Path, day: int, seed: list[CallRecord], manifest: dict[str, object], per_run: int) -> str:
    """One dated run directory holding `per_run` records copied from the seed."""
    when = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=day)
    run_id = new_run_id(when)
    path = root / f"{when:%Y-%m-%d}" / run_id
    path.mkdir(parents=True)
    created = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    (path / MANIFEST).write_text(json.dumps({**manifest, "run_id": run_id, "created_at": created,
                                             "status": "completed", "parent_run": None}))
    encode = msgspec.json.Encoder().encode
    shift = max(r.repeat for r in seed) + 1
    with open(path / RESULTS, "wb") as fh:
        for start in range(0, per_run, len(seed)):
            copy = start // len(seed)
            fh.write(b"".join(
                encode(msgspec.structs.replace(r, run_id=run_id, repeat=r.repeat + shift * copy)) + b"\n"
                for r in seed[: per_run - start]))
    return run_id


def link_prefix(full: Path, target: Path, runs: int) -> None:
    """`target` holds the first `runs` runs of `full`, as hard links (run dirs are read-only)."""
    for i, run in enumerate(sorted(full.glob(f"20*/*/{MANIFEST}"))):
        if i >= runs:
            break
        dest = target / run.parent.parent.name / run.parent.name
        dest.mkdir(parents=True)
        for name in (MANIFEST, RESULTS):
            os.link(run.parent / name, dest / name)


def hundred_k_calls(calls: int, work: Path) -> int:
    """The 100k-call run: `benchmarks/many_calls.py` at one size, its report printed as it
    comes (calls/s, client CPU per call, every process's peak RSS by role and stage)."""
    argv = [PYTHON, str(ROOT / "benchmarks" / "many_calls.py"), "--calls", str(calls),
            "--json", str(work / "many_calls.json")]
    print(f"\n{calls}-call run: {' '.join(argv[1:])}", flush=True)
    return subprocess.run(argv, cwd=ROOT, check=False).returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,400000,1000000", help="records per archive, comma list")
    parser.add_argument("--seed-run", type=Path, help="a run directory to replicate (default: run the simulator)")
    parser.add_argument("--records-per-run", type=int, default=0, help="records per run (default: the source run's)")
    parser.add_argument("--reps", type=int, default=2, help="runs per figure; the fastest (by CPU) is shown")
    parser.add_argument("--engines-python", help="an interpreter with duckdb and polars, to time them too")
    parser.add_argument("--keep", type=Path, help="build the archives here and keep them")
    parser.add_argument("--calls", type=int, default=100_000,
                        help="calls in the many-calls run after the archives (0: skip it; ~5 min at 100k)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    work = args.keep or Path(tempfile.mkdtemp(prefix="fleetbench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        seed, manifest = seed_records(args.seed_run, work)
        per_run = args.records_per_run or len(seed)
        full = work / f"archive-{sizes[-1]}"
        shutil.rmtree(full, ignore_errors=True)
        runs_needed = -(-sizes[-1] // per_run)
        print(f"building {runs_needed} runs of {per_run} records from a {len(seed)}-record seed run", flush=True)
        for day in range(runs_needed):
            write_run(full, day, seed, manifest, per_run)
        print("times are each child's own work after its imports; peak RSS is the whole child's")
        print(f"{'records':>9} {'runs':>5}  {'what':<37} {'figures':<62} vs decode (wall, CPU)")
        for size in sizes:
            runs = -(-size // per_run)
            root = full if size == sizes[-1] else work / f"archive-{size}"
            if root != full:
                shutil.rmtree(root, ignore_errors=True)
                link_prefix(full, root, runs)
            report_size(root, size, runs, seed, manifest, per_run, args)
        if args.calls:
            code = hundred_k_calls(args.calls, work)
            if code != 0:
                raise SystemExit(f"the {args.calls}-call run failed (exit {code})")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def report_size(root: Path, size: int, runs: int, seed: list[CallRecord], manifest: dict[str, object],
                per_run: int, args: argparse.Namespace) -> None:
    aggregate = [PYTHON, "-c", AGGREGATE, str(root)]
    cache = root / ".aggregate-cache"
    decode = best_of([PYTHON, "-c", DECODE_PASS, str(root)], args.reps)
    cold = best_of(aggregate, args.reps, prepare=lambda: shutil.rmtree(cache, ignore_errors=True))
    shutil.rmtree(cache, ignore_errors=True)
    cli = measure([FLEETBENCH, "aggregate", "--runs-dir", str(root)])
    warm = best_of(aggregate, args.reps)
    lineages = cache / "lineages"
    before = {p.name: p.stat().st_mtime_ns for p in lineages.iterdir()}
    write_run(root, runs + 1, seed, manifest, per_run)
    incremental = measure(aggregate)
    rewritten = [p.name for p in lineages.iterdir() if before.get(p.name) != p.stat().st_mtime_ns]
    sketch_error = float(measure([PYTHON, "-c", EXACT_CHECK, str(root)]).stdout)

    def row(what: str, m: Measured, ratio: bool = True) -> None:
        wall, cpu, _ = m.work
        versus = f"{wall / decode.work[0]:5.2f}x, {cpu / decode.work[1]:5.2f}x" if ratio else ""
        print(f"{size:>9} {runs:>5}  {what:<37} {m.cells():<62} {versus}".rstrip(), flush=True)

    row("msgspec decode pass", decode, ratio=False)
    row("msgspec decode pass, untyped (dicts)", best_of([PYTHON, "-c", UNTYPED_DECODE_PASS, str(root)], args.reps))
    row("aggregate, cold (no cache)", cold)
    print(f"{size:>9} {runs:>5}  {'fleetbench aggregate, cold, CLI':<37} {cli.wall_s:6.2f} s wall "
          f"{cli.cpu_s:6.2f} s CPU  peak {cli.peak_rss_mb:4.0f} MB (whole process: start-up and imports too)")
    row("aggregate, warm (nothing new)", warm)
    row(f"aggregate, +1 run ({len(rewritten)} lineage read)", incremental)
    if args.engines_python:
        for engine in ("duckdb", "polars"):
            row(f"{engine}: statistics table only", best_of([args.engines_python, "-c", TIMED + ENGINE_PASS,
                                                             str(root), engine], args.reps))
    print(f"{'':>16}  percentiles vs exact: worst relative error {100 * sketch_error:.3f}% (sketch bound 0.5%)")


if __name__ == "__main__":
    main()
