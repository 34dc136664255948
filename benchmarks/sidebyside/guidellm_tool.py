"""guidellm: its side venv, its mock server (wrapped by `mock_probe.py`), its benchmark.

Why its own venv outside the repository: guidellm pins its own transformers, httpx and
torch, which must not meet fleetbench's. It needs a CPU torch; a bare `torch` requirement
may resolve to a multi-GB CUDA build, so the CPU build this machine's pip offers
(torch==2.13.0) is installed first and guidellm's requirement is then already met.

The flags come from guidellm 0.8.1's own sources: `mock-server` takes --host, --port,
--ttft-ms, --itl-ms, --output-tokens; the benchmark command is `guidellm run` with
key=value specs (`--backend kind=openai_http,target=URL`, `--profile
kind=concurrent,streams=C`, `--constraint kind=max_duration,seconds=S`, `--data
kind=json_file,path=P`, `--output kind=json,path=P`). The data is a JSONL of fixed
prompts with `output_tokens_count`, the same prompts fleetbench gets; guidellm's
`synthetic_text` data would need a Hugging Face tokenizer download, which this machine
cannot make.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from sidebyside.figures import Figure
from sidebyside.tool_report import ToolReport

GUIDELLM_VERSION = "0.8.1"
CPU_TORCH = "torch==2.13.0"
DEFAULT_VENV = Path.home() / ".cache" / "fleetbench" / "guidellm-venv"
PROBE = Path(__file__).resolve().parent / "mock_probe.py"


def installed_version(venv: Path) -> str | None:
    python = venv / "bin" / "python"
    if not python.exists():
        return None
    done = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('guidellm'))"],
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def ensure_guidellm(venv: Path) -> Path:
    """The venv's python, installing guidellm (pinned) with a CPU torch if absent."""
    if installed_version(venv) == GUIDELLM_VERSION:
        return venv / "bin" / "python"
    print(f"installing guidellm=={GUIDELLM_VERSION} (CPU torch first) into {venv}; a few minutes", flush=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, CPU_TORCH], check=True)
    subprocess.run([*pip, f"guidellm=={GUIDELLM_VERSION}"], check=True)
    if installed_version(venv) != GUIDELLM_VERSION:
        raise RuntimeError(f"guidellm {GUIDELLM_VERSION} did not install into {venv}")
    return venv / "bin" / "python"


def mock_command(python: Path, probe_log: Path, port: int, ttft_ms: float, itl_ms: float,
                 output_tokens: int) -> list[str]:
    """`guidellm mock-server --ttft-ms 50 --itl-ms 5 --output-tokens 64`, run by the probe."""
    return [str(python), str(PROBE), "--probe-log", str(probe_log), "mock-server",
            "--host", "127.0.0.1", "--port", str(port), "--ttft-ms", f"{ttft_ms:g}",
            "--itl-ms", f"{itl_ms:g}", "--output-tokens", str(output_tokens)]


def write_data(path: Path, prompts: list[str], output_tokens: int) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps({"prompt": prompt, "output_tokens_count": output_tokens}) + "\n" for prompt in prompts)


def benchmark_command(python: Path, url: str, concurrency: int, seconds: float, data: Path,
                      out_json: Path) -> list[str]:
    """Constant concurrency for `seconds`; console on (as a user runs it) but not the
    interactive progress display, which has no terminal to draw on here."""
    guidellm = python.parent / "guidellm"
    return [str(guidellm), "run", "--backend", f"kind=openai_http,target={url}",
            "--profile", f"kind=concurrent,streams={concurrency}",
            "--constraint", f"kind=max_duration,seconds={seconds:g}",
            "--data", f"kind=json_file,path={data}", "--output", f"kind=json,path={out_json}",
            "--disable-console-interactive"]


def _percentile_figure(metric: dict[str, Any], key: str) -> Figure:
    successful = metric["successful"]
    cis = successful.get("percentile_cis") or {}
    ci = cis.get(key) or {}
    return Figure(point=successful["percentiles"][key], lo=ci.get("lower"), hi=ci.get("upper"),
                  n=int(successful["count"]))


def parse_report(document: dict[str, Any]) -> tuple[ToolReport, dict[str, float]]:
    """guidellm's JSON output (one benchmark): its own TTFT percentiles (ms) and counts,
    and its TTFT per completed request by the completion id the mock sent."""
    benchmarks = document.get("benchmarks") or []
    if len(benchmarks) != 1:
        raise ValueError(f"expected one guidellm benchmark in the report, found {len(benchmarks)}")
    metrics = benchmarks[0]["metrics"]
    totals = metrics["request_totals"]
    ttft = metrics["time_to_first_token_ms"]
    by_id = {r["response_id"]: float(r["time_to_first_token_ms"])
             for r in (benchmarks[0].get("requests") or {}).get("successful") or []
             if r.get("response_id") and r.get("time_to_first_token_ms") is not None}
    report = ToolReport(tool="guidellm", completed=int(totals["successful"]),
                        failed=int(totals["errored"]),
                        ttft_p50_ms=_percentile_figure(ttft, "p50"), ttft_p95_ms=_percentile_figure(ttft, "p95"),
                        reported_rps=float(metrics["requests_per_second"]["successful"]["mean"]),
                        note=f"{totals['incomplete']} cut off at the deadline, {totals['errored']} errored")
    return report, by_id


def read_report(path: Path) -> tuple[ToolReport, dict[str, float]]:
    return parse_report(json.loads(path.read_text(encoding="utf-8")))
