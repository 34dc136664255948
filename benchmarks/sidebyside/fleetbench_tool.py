"""fleetbench as a user load-testing one endpoint runs it.

`fleetbench run SUITE --phase baseline --models openai/mock-llm --concurrency C` with
OPENAI_BASE_URL at the mock and a dummy OPENAI_API_KEY. The config lifts the openai
provider's limits (none set, so nothing throttles) and allows one attempt per call (the
mock never fails, and a retry would hide a fault rather than measure it). The suite is
generated: N one-line prompts, 64 output tokens each, streamed, no constraints to score.

Its TTFT is read from the run's results.jsonl (`ttft_ms`, one record per call), the
archive's public schema; only the fields used here are decoded.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import msgspec
import yaml

from sidebyside.figures import percentile
from sidebyside.jsonl import decode_lines
from sidebyside.tool_report import ToolReport

MODEL = "openai/mock-llm"
DUMMY_KEY = "sk-side-by-side-dummy"


class _Record(msgspec.Struct):
    status: str
    ttft_ms: float | None = None
    error_class: str | None = None
    request_id: str | None = None


_decoder = msgspec.json.Decoder(_Record)


def fleetbench_executable() -> list[str]:
    """The `fleetbench` script beside this interpreter (the repo's .venv), else the module."""
    script = Path(sys.executable).parent / "fleetbench"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cluster.cli"]


def write_suite(path: Path, prompts: list[str], output_tokens: int) -> None:
    items = [{"id": f"load-{index:06d}", "prompt": prompt} for index, prompt in enumerate(prompts)]
    suite = {"name": "side-by-side", "description": "Load for the side-by-side benchmark: fixed prompts.",
             "defaults": {"max_tokens": output_tokens, "temperature": 0.0, "stream": True}, "items": items}
    path.write_text(yaml.safe_dump(suite, sort_keys=False, width=200), encoding="utf-8")


def write_config(path: Path, timeout_s: float) -> None:
    config = {"providers": {"openai": {"limits": {"max_concurrent": None, "requests_per_window": None,
                                                  "tokens_per_window": None},
                                       "timeout_s": timeout_s}},
              "retry": {"max_attempts": 1}}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def run_command(suite: Path, config: Path, concurrency: int, runs_dir: Path) -> list[str]:
    return [*fleetbench_executable(), "run", str(suite), "--phase", "baseline", "--models", MODEL,
            "--concurrency", str(concurrency), "--runs-dir", str(runs_dir), "--config", str(config)]


def run_env(base_url: str) -> dict[str, str]:
    """The caller's environment, pointed at the mock; never a Ray cluster to join."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update({"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": DUMMY_KEY, "RAY_USAGE_STATS_ENABLED": "0"})
    return env


def parse_results(lines: list[bytes]) -> tuple[ToolReport, dict[str, float]]:
    """Counts and TTFT percentiles from results.jsonl lines (a torn last line is dropped),
    and the TTFT per call by the completion id the mock sent (`request_id`)."""
    records = decode_lines(lines, _decoder, "results.jsonl")
    ok = [r for r in records if r.status == "ok"]
    ttfts = [r.ttft_ms for r in ok if r.ttft_ms is not None]
    errors = sorted({r.error_class or "unknown" for r in records if r.status == "error"})
    by_id = {r.request_id: r.ttft_ms for r in ok if r.request_id and r.ttft_ms is not None}
    report = ToolReport(tool="fleetbench", completed=len(ok), failed=sum(1 for r in records if r.status == "error"),
                        ttft_p50_ms=percentile(ttfts, 50), ttft_p95_ms=percentile(ttfts, 95),
                        note=f"errors: {', '.join(errors)}" if errors else "")
    return report, by_id


def read_results(runs_dir: Path) -> tuple[ToolReport, dict[str, float]]:
    """The one run under `runs_dir` (`<date>/<run_id>/results.jsonl`)."""
    found = sorted(runs_dir.glob("*/*/results.jsonl"))
    if len(found) != 1:
        raise ValueError(f"expected one fleetbench run under {runs_dir}, found {len(found)}")
    return parse_results(found[0].read_bytes().splitlines())
