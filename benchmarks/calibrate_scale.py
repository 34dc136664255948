"""Calibrate over a large synthetic archive: wall time and peak RSS, cold and after one new run.

Why synthetic from a real run: the records keep the shapes the phases really write
(outputs, extras, error records), only multiplied. Each copy gets its own model name (4
models, so rankings have pairs to compare) and its own repeat numbers, so every key stays
unique; each run sits under its own date.

    # one real run on the simulator, then 20 runs of 20k records (400k) built from it
    .venv/bin/fleetbench run smoke --models sim/smollm2-135m-sim --repeat 20 --runs-dir /tmp/x
    .venv/bin/python benchmarks/calibrate_scale.py build /tmp/x/2026-*/2026* /tmp/big --runs 20 --per-run 20000
    .venv/bin/python benchmarks/calibrate_scale.py measure /tmp/big

`measure` runs each calibrate in a fresh process (peak RSS is the process's own maximum; CPU
time is the steadier figure on a busy machine; imports are outside both):
first over the archive as it is, then again with nothing new, then after one more run
is added. Run it with another checkout first on PYTHONPATH to measure that code instead.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import msgspec

from harness.records import CallRecord, decode_line, encode_line

MODELS = 4
_PROBE = """
import resource, sys, time
from pathlib import Path
from calibration.calibrate import calibrate
from calibration.settings import CalibrationSettings
start, cpu = time.perf_counter(), time.process_time()
result = calibrate(Path(sys.argv[1]), CalibrationSettings())
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{wall:.2f} {cpu:.2f} {rss:.0f} {len(result.new_runs)}")
"""


def _copies(records: list[CallRecord], run_id: str, copy_from: int, copies: int) -> bytes:
    out: list[bytes] = []
    for j in range(copy_from, copy_from + copies):
        model = f"sim/model-{j % MODELS}"
        for r in records:
            clone = msgspec.structs.replace(r, run_id=run_id, model=model, repeat=r.repeat + 1000 * (j // MODELS),
                                            answered_by=model if r.answered_by == r.model else r.answered_by)
            out.append(encode_line(clone))
    return b"".join(out)


def add_run(source: list[CallRecord], manifest: dict[str, object], out: Path, index: int, per_run: int) -> int:
    day = date(2026, 1, 1) + timedelta(days=index)
    run_id = f"{day:%Y%m%d}T000000000Z-{index:06x}"
    run_dir = out / f"{day:%Y-%m-%d}" / run_id
    run_dir.mkdir(parents=True)
    copies = max(1, per_run // len(source))
    (run_dir / "results.jsonl").write_bytes(_copies(source, run_id, 0, copies))
    made = dict(manifest, run_id=run_id, created_at=f"{day:%Y-%m-%d}T00:00:00.000Z", status="completed",
                parent_run=None)
    (run_dir / "manifest.json").write_text(json.dumps(made, indent=2) + "\n")
    return copies * len(source)


def build(source_dir: Path, out: Path, runs: int, per_run: int) -> None:
    source = [decode_line(line) for line in (source_dir / "results.jsonl").read_bytes().splitlines() if line]
    manifest = json.loads((source_dir / "manifest.json").read_text())
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    total = sum(add_run(source, manifest, out, i, per_run) for i in range(runs))
    (out / ".source.json").write_text(json.dumps({"source": str(source_dir), "per_run": per_run, "runs": runs}))
    print(f"built {runs} runs, {total} records under {out}")


def _probe(runs_dir: Path) -> str:
    done = subprocess.run([sys.executable, "-c", _PROBE, str(runs_dir)], capture_output=True, text=True, check=True)
    wall, cpu, rss, new = done.stdout.split()
    return f"{wall} s wall, {cpu} s CPU, peak RSS {rss} MB, new runs {new}"


def measure(runs_dir: Path) -> None:
    info = json.loads((runs_dir / ".source.json").read_text())
    source_dir = Path(info["source"])
    source = [decode_line(line) for line in (source_dir / "results.jsonl").read_bytes().splitlines() if line]
    manifest = json.loads((source_dir / "manifest.json").read_text())
    records = sum(1 for p in runs_dir.glob("*/*/results.jsonl") for _ in p.open("rb"))
    print(f"archive: {records} records in {info['runs']} runs")
    print(f"calibrate, first time:          {_probe(runs_dir)}")
    print(f"calibrate, nothing new:         {_probe(runs_dir)}")
    added = add_run(source, manifest, runs_dir, int(info["runs"]), int(info["per_run"]))
    info["runs"] = int(info["runs"]) + 1
    (runs_dir / ".source.json").write_text(json.dumps(info))
    print(f"calibrate, one new run ({added}): {_probe(runs_dir)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("source", type=Path, help="a real run directory (results.jsonl + manifest.json)")
    b.add_argument("out", type=Path)
    b.add_argument("--runs", type=int, default=20)
    b.add_argument("--per-run", type=int, default=20000)
    m = sub.add_parser("measure")
    m.add_argument("runs_dir", type=Path)
    args = parser.parse_args()
    if args.command == "build":
        build(args.source, args.out, args.runs, args.per_run)
    else:
        measure(args.runs_dir)


if __name__ == "__main__":
    main()
