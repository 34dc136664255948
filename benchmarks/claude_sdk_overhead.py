"""Cost of one Claude Agent SDK call against the simulator's Anthropic endpoint.

The SDK drives the bundled Claude Code CLI (a Node process per query), so its client cost
is mostly the CLI's: this reports, per call, the wall time, the TTFT measured by the
adapter against the simulator's ground truth, and the CPU seconds of this process and of
its children (the CLI). Usage:

    .venv/bin/python benchmarks/claude_sdk_overhead.py [--calls 5]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time

from harness.call import execute_call
from harness.local_limiters import UnlimitedLimiter
from harness.providers.claude_sdk import ClaudeAgentSDKProvider
from harness.retry import RetryPolicy
from harness.seam import CallRequest, Message
from harness.timing import percentile
from simulator.config import BrainConfig, SimConfig
from simulator.server import SimThread


def cpu() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


async def main_async(calls: int, url: str) -> list[tuple[float, float | None, str | None]]:
    provider = ClaudeAgentSDKProvider("sim", url, "sk-ant-sim-bench-000000")
    request = CallRequest(model="claude-haiku-4-5", messages=[Message(role="user", content="hello")],
                          max_tokens=64)
    rows = []
    try:
        for _ in range(calls):
            t0 = time.perf_counter()
            outcome = await execute_call(provider, request, UnlimitedLimiter(), RetryPolicy(max_attempts=1),
                                         holder="bench")
            rows.append((time.perf_counter() - t0, outcome.ttft_ms,
                         outcome.response.request_id if outcome.response else outcome.error_message))
    finally:
        await provider.aclose()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args()
    cfg = SimConfig(default_brain=BrainConfig(ttft_ms=50, itl_ms=5, output_tokens=8))
    with SimThread(cfg) as sim:
        (self0, kids0) = cpu()
        rows = asyncio.run(main_async(args.calls, sim.url))
        (self1, kids1) = cpu()
        truths = sim.truths()
    walls = [r[0] * 1000 for r in rows]
    ttfts = [r[1] for r in rows if r[1] is not None]
    truth_ttft = [t.ttft_ms for t in truths if t.ttft_ms is not None]
    print(f"calls {len(rows)}; wall p50 {percentile(walls, 50):.0f} ms; adapter TTFT p50 "
          f"{percentile(ttfts, 50):.0f} ms vs simulator TTFT p50 {percentile(truth_ttft, 50):.0f} ms")
    print(f"CPU per call: this process {1000 * (self1 - self0) / len(rows):.0f} ms, "
          f"CLI children {1000 * (kids1 - kids0) / len(rows):.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
