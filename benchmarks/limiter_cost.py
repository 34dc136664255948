"""What the limiter costs per call: a local allowance against a Ray round-trip per call.

    .venv/bin/python benchmarks/limiter_cost.py [--calls 20000] [--concurrency 64]

Three figures, measured in the same run on this machine:
- in-process: acquire + release on an allowance with a real pool behind a direct link;
- over Ray, allowance: the same inside a Ray actor whose pool is the cluster's limiter
  actor (the background sync's round-trips are included, amortised over the calls);
- over Ray, one round-trip per call: what the call path did before allowances (an acquire
  and a release message to the limiter actor per call), as the baseline.
Each is the client process's CPU time per call (time.process_time), plus wall time per
call for the Ray ones. The target is <= 0.2 ms per call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import ray

from cluster.limiter_actor import NAMESPACE, LimiterSpec, RayLink, ensure_limiter, make_spec
from harness.allowance import Allowance
from harness.limit_contract import ProviderLimits
from harness.local_limiters import LimiterCore

LIMITS = ProviderLimits(max_concurrent=1000, requests_per_window=10_000_000, window_s=60)


async def _drive(limiter: Any, calls: int, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            lease = await limiter.acquire("bench", tokens=100)
            await asyncio.sleep(0)  # the call itself, as short as it gets
            await limiter.release(lease.lease_id, 120)

    await asyncio.gather(*(one() for _ in range(calls)))


def in_process(calls: int, concurrency: int) -> dict[str, float]:
    async def main() -> dict[str, float]:
        core = LimiterCore(LIMITS)
        await _drive(core, 200, concurrency)  # warm: first sync, first credits
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await _drive(core, calls, concurrency)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        await core.aclose()
        return {"cpu_ms_per_call": 1e3 * cpu / calls, "wall_ms_per_call": 1e3 * wall / calls}

    return asyncio.run(main())


@ray.remote(num_cpus=0)
class Client:
    """Stands in for a phase subagent: one process, one event loop, many calls."""

    async def allowance(self, spec: LimiterSpec, calls: int, concurrency: int) -> dict[str, float]:
        limiter = Allowance(RayLink(spec), client="bench-client", run="bench", limits=spec.limits)
        await _drive(limiter, 200, concurrency)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await _drive(limiter, calls, concurrency)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        await limiter.aclose()
        return {"cpu_ms_per_call": 1e3 * cpu / calls, "wall_ms_per_call": 1e3 * wall / calls}

    async def round_trips(self, spec: LimiterSpec, calls: int, concurrency: int) -> dict[str, float]:
        """Two messages per call to the limiter actor (its pool answers at once)."""
        handle = ray.get_actor(spec.name, namespace=NAMESPACE)
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                await handle.stats.remote()  # acquire's round-trip
                await handle.stats.remote()  # release's round-trip

        await asyncio.gather(*(one() for _ in range(100)))
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one() for _ in range(calls)))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        return {"cpu_ms_per_call": 1e3 * cpu / calls, "wall_ms_per_call": 1e3 * wall / calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {"in-process allowance": in_process(args.calls, args.concurrency)}
    ray.init(address="local", include_dashboard=False, namespace=NAMESPACE, configure_logging=False,
             log_to_driver=False)
    try:
        spec = make_spec("bench:limiter-cost", LIMITS, detached=False)
        _limiter = ensure_limiter(spec, "bench")  # held: a non-detached actor dies with its last handle
        client = Client.remote()  # type: ignore[attr-defined]
        results["ray allowance"] = ray.get(client.allowance.remote(spec, args.calls, args.concurrency))
        rt_calls = max(1000, args.calls // 10)
        results["ray round-trip per call"] = ray.get(client.round_trips.remote(spec, rt_calls, args.concurrency))
    finally:
        ray.shutdown()
    width = max(len(k) for k in results)
    print(f"{'limiter':<{width}}  client CPU ms/call  wall ms/call")
    for name, figures in results.items():
        print(f"{name:<{width}}  {figures['cpu_ms_per_call']:>18.4f}  {figures['wall_ms_per_call']:>12.4f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
