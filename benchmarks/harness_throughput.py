"""Drive the harness call path (per adapter) against the simulator at several concurrencies.

Reports, per adapter and concurrency: achieved throughput as a fraction of the theoretical
maximum (concurrency / ideal call duration), client CPU per call (this process: the whole
call path, SDK or our stream reader, aiohttp), and the TTFT error against the simulator's
ground truth (measured - truth, p50/p95; never negative if timing is honest). An adapter is
`kind[-transport][-sdk]`: `chat-aiohttp-sdk` reads streams with the openai SDK's reader
(the before), `chat-aiohttp` with ours (the after); docs/stream_cpu.md has a run.

The simulator runs in its own process so it does not share the client's GIL or CPU
accounting. Usage:

    .venv/bin/python benchmarks/harness_throughput.py [--concurrency 1,16,64,256]
        [--ttft-ms 50] [--itl-ms 5] [--tokens 8] [--json out.json]
        [--adapters chat-aiohttp-sdk,chat-aiohttp,chat-httpx,responses,messages,ollama]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

from harness.call import execute_call
from harness.local_limiters import UnlimitedLimiter
from harness.providers.registry import AdapterSettings, api_spec
from harness.retry import RetryPolicy
from harness.seam import CallRequest, Message, ProviderAPI
from harness.timing import percentile
from simulator.client import configure, fetch_truths, reset


def start_simulator() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "simulator", "--port", "0"], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("SIM_URL="):
        proc.kill()
        raise RuntimeError(f"simulator did not start: {line!r}")
    return proc, line.split("=", 1)[1]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def make_adapter(name: str, url: str) -> ProviderAPI:
    """`kind[-transport][-sdk]` (e.g. `chat`, `chat-httpx`, `messages-aiohttp-sdk`): that API's
    adapter over its real SDK, pointed at the simulator's wire for it (every wire is served
    from the same root). `-sdk` reads streams with the SDK's own reader instead of ours
    (over httpx the SDK's always reads): the before of the before/after."""
    kind, reader = (name.removesuffix("-sdk"), "sdk") if name.endswith("-sdk") else (name, "sse")
    kind, _, transport = kind.rpartition("-") if kind.endswith(("-aiohttp", "-httpx")) else (kind, "", "aiohttp")
    try:
        spec = api_spec(kind)
    except KeyError as exc:
        raise SystemExit(f"unknown adapter {name!r}: {exc.args[0]}") from None
    settings = AdapterSettings(api_key_env="FLEETBENCH_SIM_API_KEY",
                               transport="httpx" if transport == "httpx" else "aiohttp",
                               stream_reader="sdk" if reader == "sdk" else "sse")
    return spec.build("sim", url + spec.base_path, "sim-bench", settings)


async def run_level(url: str, adapter: str, concurrency: int, calls: int) -> dict[str, Any]:
    provider = make_adapter(adapter, url)
    limiter = UnlimitedLimiter()
    policy = RetryPolicy(max_attempts=1)
    request = CallRequest(model="bench", messages=[Message(role="user", content="hello")], max_tokens=64)
    gate = asyncio.Semaphore(concurrency)
    # warm the connection pool outside the timed window (llmperf's start-up mistake)
    await asyncio.gather(*(execute_call(provider, request, limiter, policy, holder="warm")
                           for _ in range(min(concurrency, 32))))
    reset(url)

    async def one() -> Any:
        async with gate:
            return await execute_call(provider, request, limiter, policy, holder="bench")

    cpu0, t0 = cpu_seconds(), time.perf_counter()
    outcomes = await asyncio.gather(*(one() for _ in range(calls)))
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    await provider.aclose()
    truths = {t["request_id"]: t for t in fetch_truths(url)}
    errors = []
    for outcome in outcomes:
        if outcome.status != "ok" or outcome.response is None:
            continue
        truth = truths.get(outcome.response.request_id)
        if truth and truth.get("first_content_ns") and outcome.ttft_ms is not None:
            errors.append(outcome.ttft_ms - (truth["first_content_ns"] - truth["arrival_ns"]) / 1e6)
    ok = sum(1 for o in outcomes if o.status == "ok")
    sent = sorted(t["output_tokens"] for t in truths.values() if t.get("status") == 200)
    return {"adapter": adapter, "output_tokens": sent[len(sent) // 2] if sent else None, "concurrency": concurrency, "calls": calls, "ok": ok,
            "wall_s": wall, "throughput_rps": ok / wall, "cpu_ms_per_call": 1000 * cpu / max(ok, 1),
            "ttft_err_p50_ms": percentile(errors, 50), "ttft_err_p95_ms": percentile(errors, 95),
            "ttft_err_min_ms": min(errors) if errors else None}


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", default="1,16,64,256")
    parser.add_argument("--ttft-ms", type=float, default=50.0)
    parser.add_argument("--itl-ms", type=float, default=5.0)
    parser.add_argument("--tokens", type=int, default=8)
    parser.add_argument("--adapters", default="chat-aiohttp,chat-httpx")
    parser.add_argument("--calls-per-slot", type=int, default=4, help="calls = max(32, concurrency * this)")
    parser.add_argument("--json", default=None, help="also write the rows as JSON here")
    args = parser.parse_args()
    def ideal_s(tokens: int) -> float:  # one call's duration on an idle machine
        return float(args.ttft_ms + (tokens - 1) * args.itl_ms) / 1000

    proc, url = start_simulator()
    rows = []
    try:
        configure(url, {"default_brain": {"ttft_ms": args.ttft_ms, "itl_ms": args.itl_ms,
                                          "output_tokens": args.tokens}})
        print(f"simulator {url}; ideal call {ideal_s(args.tokens) * 1000:.0f} ms at {args.tokens} tokens (the "
              f"brain's text may be shorter: 'of max' uses the tokens sent); machine: {os.cpu_count()} cores")
        print(f"{'adapter':12} {'conc':>5} {'calls':>6} {'req/s':>8} {'of max':>7} {'cpu ms/call':>11} "
              f"{'TTFT err p50':>12} {'p95':>7} {'min':>7}")
        for adapter in args.adapters.split(","):
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                calls = max(32, concurrency * args.calls_per_slot)
                row = asyncio.run(run_level(url, adapter, concurrency, calls))
                row["fraction_of_max"] = row["throughput_rps"] / (concurrency / ideal_s(row["output_tokens"] or args.tokens))
                rows.append(row)
                print(f"{adapter:12} {concurrency:5d} {calls:6d} {row['throughput_rps']:8.1f} "
                      f"{100 * row['fraction_of_max']:6.1f}% {row['cpu_ms_per_call']:11.2f} "
                      f"{_f(row['ttft_err_p50_ms']):>12} {_f(row['ttft_err_p95_ms']):>7} {_f(row['ttft_err_min_ms']):>7}",
                      flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
