"""Where one streamed request's client CPU goes: cProfile over sequential calls through one
adapter (the whole call path: `execute_call`, the adapter, its SDK or SSE reader, aiohttp)
against the simulator in its own process, grouped by package.

Usage:

    .venv/bin/python benchmarks/stream_profile.py [--adapter chat-aiohttp] [--calls 300]
        [--tokens 64] [--top 25]

CPU per call is `time.process_time()` over the calls without the profiler (the profiler
itself several times it), then the profile's CPU own-time share per package (the
profiler's timer is `process_time`, so waiting on the socket is not counted), read as
fractions of the unprofiled figure. The simulator sends the tokens
at once (ttft 0, no gaps), so the figure is client work only, not waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
from collections import defaultdict

from harness_throughput import make_adapter, start_simulator  # this directory: run as a script

from harness.call import execute_call
from harness.local_limiters import UnlimitedLimiter
from harness.retry import RetryPolicy
from harness.seam import CallRequest, Message
from simulator.client import configure

PACKAGES = ("openai", "anthropic", "ollama", "pydantic", "httpx", "httpcore", "aiohttp", "msgspec", "yarl",
            "multidict", "asyncio", "harness", "json", "ssl", "socket", "selectors")


def package_of(filename: str) -> str:
    parts = filename.replace("\\", "/").split("/")
    for part in reversed(parts[:-1]):
        if part in PACKAGES:
            return part
    return "other" if filename.startswith("/") else filename  # builtins: '~' rows


async def calls(adapter: str, url: str, n: int, tokens: int) -> float:
    """CPU seconds for `n` sequential streamed calls (after warm-up calls)."""
    provider = make_adapter(adapter, url)
    limiter, policy = UnlimitedLimiter(), RetryPolicy(max_attempts=1)
    request = CallRequest(model="bench", messages=[Message(role="user", content="hello")], max_tokens=tokens)
    await provider.warm_up()
    for _ in range(10):
        await execute_call(provider, request, limiter, policy, holder="warm")
    cpu0 = time.process_time()
    for _ in range(n):
        outcome = await execute_call(provider, request, limiter, policy, holder="prof")
        assert outcome.status == "ok", outcome.error_message
    cpu = time.process_time() - cpu0
    await provider.aclose()
    return cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adapter", default="chat-aiohttp")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    proc, url = start_simulator()
    try:
        configure(url, {"default_brain": {"ttft_ms": 0, "itl_ms": 0, "output_tokens": args.tokens}})
        plain = asyncio.run(calls(args.adapter, url, args.calls, args.tokens))
        profiler = cProfile.Profile(time.process_time)  # CPU, not wall: waiting is not work
        profiler.enable()
        asyncio.run(calls(args.adapter, url, args.calls, args.tokens))
        profiler.disable()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    stats = pstats.Stats(profiler)
    own: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        own[package_of(filename)] += tottime
        total += tottime
    print(f"{args.adapter}: {1000 * plain / args.calls:.2f} ms client CPU per call ({args.tokens} tokens, "
          f"{args.calls} calls, no profiler)")
    print("own time by package (share of the profiled total):")
    for package, seconds in sorted(own.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {package:12} {100 * seconds / total:5.1f}%")
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
