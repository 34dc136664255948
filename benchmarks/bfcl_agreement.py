"""How often fleetbench's BFCL verdicts agree with BFCL's own checker, per category, on the
outputs fleetbench recorded.

    .venv/bin/python benchmarks/bfcl_agreement.py                      # simulator brains, all categories
    .venv/bin/python benchmarks/bfcl_agreement.py --include-runs runs  # + every BFCL record of an archive
    .venv/bin/python benchmarks/bfcl_agreement.py --checker-python /path/to/venv/bin/python

What it does:
1. Runs `fleetbench run bfcl:<category> ... --phase tool-use` on simulator brains that answer
   every BFCL question from its gold (`simulator/brains_bfcl.py`): correctly, with a wrong
   type, a missing or an extra parameter, parallel calls in reverse order, no call, a wrong
   value, integers sent as floats, restyled strings and one call too many. Once in prompt
   mode with two variants (JSON and `<tool_call>` XML, so both parsers are exercised), once
   in native mode (the simulator sends one tool call per reply, so parallel items get too
   few there). The archive goes to a temporary directory; the records are the ones fleetbench
   scored and stored.
2. Adds the BFCL records of any archive given with `--include-runs` (the embedded models'
   runs, say `fleetbench run bfcl:simple_python --limit 20`).
3. Decodes each record's reply as fleetbench did (native: its tool calls; prompt mode: the
   strict parse, a reply in any other shape decoding to nothing), and sends the decoded calls,
   with BFCL's own function docs and possible answers, to BFCL's checker
   (`bfcl_reference_checker.py`) in the side venv (`bfcl_checker_venv.py`, created if absent).
4. Prints per category the outputs, the agreeing share and every disagreement class (our
   failure class, BFCL's error type) with an example; `--json` writes them.

Why decoding is not compared: BFCL's prompt-mode decoder reads Python call syntax and
fleetbench asks for JSON, so the shared ground is the decoded calls, which is where BFCL's
rules (names, parameters, types, values, order) apply. A reply that did not decode is
scored by both as BFCL scores an undecodable reply.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repo root first: the imports below are its packages

from bfcl_checker_venv import DEFAULT_VENV, ensure

from agents import bfcl
from harness.records import CallRecord, decode_line
from harness.tool_scoring import PromptStyle, normalize_call, parse_prompt_mode_calls
from simulator.brains_bfcl import BfclAnswer

ANSWERS: tuple[BfclAnswer, ...] = ("correct", "wrong_type", "missing_parameter", "extra_parameter", "reversed",
                                   "no_call", "wrong_value", "int_as_float", "restyled", "extra_call")
PROMPT_VARIANTS, NATIVE_VARIANTS = "baseline,xml-tools", "baseline"
LIMIT = 20  # items per category: 20 x 10 brains x 3 (two prompt variants, native) = 600 outputs
# BFCL's checker takes a model name: one whose dots were sent as underscores (native), one that kept them
NATIVE_MODEL, PROMPT_MODEL = "gpt-4o-2024-11-20-FC", "gorilla-openfunctions-v2"
CHECKER = ROOT / "benchmarks" / "bfcl_reference_checker.py"


def brain(answer: str) -> str:
    return f"bfcl-{answer.replace('_', '-')}-sim"


def sim_config(path: Path) -> Path:
    """A simulator config with one brain per scripted answer (quick, so the run is seconds)."""
    models = {brain(a): {"ttft_ms": 1, "itl_ms": 0, "output_tokens": 1,
                         "output": {"kind": "bfcl", "bfcl_answer": a}} for a in ANSWERS}
    sim = path / "simulator.yaml"
    sim.write_text(json.dumps({"limits": {"requests_per_window": 100000, "window_s": 60, "max_concurrent": 64},
                               "models": models}))
    config = path / "fleetbench.yaml"
    config.write_text(json.dumps({"simulator": str(sim)}))
    return config


def run_brains(categories: list[str], limit: int, runs: Path, work: Path) -> None:
    """Two fleetbench runs of every category on every brain, prompt mode (both variants) and
    native (one: the brain's native call does not depend on the prompt); records land under `runs`."""
    config = sim_config(work)
    for mode, variants in (("prompt", PROMPT_VARIANTS), ("native", NATIVE_VARIANTS)):
        cmd = [sys.executable, "-m", "cli", "run", *[bfcl.PREFIX + c for c in categories], "--phase", "tool-use",
               "--models", ",".join(f"sim/{brain(a)}" for a in ANSWERS), "--tool-mode", mode,
               "--variants", variants, "--limit", str(limit), "--runs-dir", str(runs), "--config", str(config),
               "--concurrency", "32"]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        done = subprocess.run(cmd, cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
        if done.returncode != 0:
            raise SystemExit(f"fleetbench run failed ({done.returncode}):\n{done.stderr[-3000:]}")


def records(runs: Path) -> Iterator[CallRecord]:
    """Every scored BFCL tool-use record in an archive."""
    for results in sorted(runs.rglob("results.jsonl")):
        with results.open("rb") as f:
            for line in f:
                if not line.strip():
                    continue
                r = decode_line(line)
                if r.phase == "tool-use" and r.category.startswith(bfcl.PREFIX) and r.status == "ok" \
                        and isinstance(r.extra.get("tool_passed"), bool):
                    yield r


def decoded(r: CallRecord) -> list[dict[str, Any]] | None:
    """The reply's calls as BFCL's checker takes them ([{name: arguments}]); None: did not decode."""
    if r.extra.get("tool_mode") == "prompt":
        style: PromptStyle = "xml" if r.extra.get("tool_style") == "xml" else "json"
        calls = parse_prompt_mode_calls(r.output or "", style, strict=True)
    else:
        raw = r.extra.get("tool_calls")
        calls = [normalize_call(c) for c in raw if isinstance(c, dict)] if isinstance(raw, list) and raw else None
    if calls is None or any(c["arguments"] is None for c in calls):
        return None
    return [{c["name"]: c["arguments"]} for c in calls]


class Bfcl:
    """BFCL's raw function docs and ground truth, per category, read once."""

    def __init__(self) -> None:
        self._docs: dict[str, dict[str, Any]] = {}
        self._truth: dict[str, Any] = {}
        self._seen: set[str] = set()

    def load(self, category: str) -> None:
        if category in self._seen:
            return
        self._seen.add(category)
        questions, answers = bfcl.category_files(category)
        self._docs.update({q["id"]: q["function"] for q in bfcl.read_jsonl(questions)})
        if answers is not None:
            self._truth.update({a["id"]: a["ground_truth"] for a in bfcl.read_jsonl(answers)})

    def case(self, key: str, r: CallRecord) -> dict[str, Any]:
        category = r.category.removeprefix(bfcl.PREFIX)
        self.load(category)
        native = r.extra.get("tool_mode") != "prompt"
        return {"key": key, "category": category, "functions": self._docs[r.item_id],
                "answers": self._truth.get(r.item_id), "decoded": decoded(r),
                "model_name": NATIVE_MODEL if native else PROMPT_MODEL}


def compare(recs: list[CallRecord], checker_python: Path, checker: Path = CHECKER) -> dict[str, Any]:
    """Both verdicts on every record; per category the counts and the disagreement classes."""
    data = Bfcl()
    ours: dict[str, CallRecord] = {}
    cases = []
    for n, r in enumerate(recs):
        key = f"{n}|{r.model}|{r.variant}|{r.item_id}"
        ours[key] = r
        cases.append(json.dumps(data.case(key, r)))
    done = subprocess.run([str(checker_python), str(checker)], input="\n".join(cases), capture_output=True,
                          text=True, check=False, cwd=tempfile.gettempdir())
    if done.returncode != 0:
        raise SystemExit(f"BFCL's checker failed ({done.returncode}):\n{done.stderr[-3000:]}")
    per: dict[str, Counter[str]] = {}
    classes: Counter[tuple[str, str, str, str]] = Counter()
    examples: dict[tuple[str, str, str, str], str] = {}
    for line in done.stdout.splitlines():
        verdict = json.loads(line)
        r = ours[verdict["key"]]
        category = r.category.removeprefix(bfcl.PREFIX)
        counts = per.setdefault(category, Counter())
        counts["outputs"] += 1
        counts["passed"] += r.extra["tool_passed"] is True
        counts["source:" + ("simulator" if r.model.startswith("sim/bfcl-") else "model")] += 1
        if verdict["valid"] is r.extra["tool_passed"]:
            counts["agree"] += 1
            continue
        cls = (category, str(r.extra.get("tool_failure") or "passed"), str(verdict["error_type"] or "valid"),
               r.model)
        classes[cls] += 1
        examples.setdefault(cls, f"{r.item_id} {r.variant}: {r.extra.get('tool_detail', '')}"[:200])
    if sum(c["outputs"] for c in per.values()) != len(recs):
        raise SystemExit("BFCL's checker answered fewer cases than it was sent")
    return {"categories": {c: dict(v) for c, v in sorted(per.items())},
            "disagreements": [{"category": c, "ours": o, "bfcl": b, "model": m, "count": n, "example": examples[(c, o, b, m)]}
                              for (c, o, b, m), n in classes.most_common()]}


def report(result: dict[str, Any]) -> str:
    lines = ["| category | outputs | from models | passed | agree | agreement |", "|---|---:|---:|---:|---:|---:|"]
    for category, c in result["categories"].items():
        lines.append(f"| {category} | {c['outputs']} | {c.get('source:model', 0)} | {c.get('passed', 0)} | "
                     f"{c.get('agree', 0)} | "
                     f"{100 * c.get('agree', 0) / c['outputs']:.2f}% |")
    if result["disagreements"]:
        lines += ["", "| category | ours | BFCL | model | count | example |", "|---|---|---|---|---:|---|"]
        lines += [f"| {d['category']} | {d['ours']} | {d['bfcl']} | {d['model']} | {d['count']} | {d['example']} |"
                  for d in result["disagreements"]]
    else:
        lines += ["", "no disagreement"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--categories", default=",".join(bfcl.CATEGORIES))
    parser.add_argument("--limit", type=int, default=LIMIT, help="items per category for the simulator brains")
    parser.add_argument("--include-runs", type=Path, action="append", default=[],
                        help="an archive whose BFCL records are compared too (repeatable)")
    parser.add_argument("--no-brains", action="store_true", help="compare only the --include-runs records")
    parser.add_argument("--checker-python", type=Path, help=f"a python with BFCL's checker (default: {DEFAULT_VENV})")
    parser.add_argument("--json", type=Path, help="write the result here too")
    args = parser.parse_args()
    checker = args.checker_python or ensure()
    categories = [c for c in args.categories.split(",") if c]
    recs: list[CallRecord] = []
    with tempfile.TemporaryDirectory(prefix="bfcl-agreement-") as tmp:
        if not args.no_brains:
            run_brains(categories, args.limit, Path(tmp) / "runs", Path(tmp))
            recs += records(Path(tmp) / "runs")
    for runs in args.include_runs:
        recs += [r for r in records(runs) if r.category.removeprefix(bfcl.PREFIX) in categories]
    result = compare(recs, checker)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
