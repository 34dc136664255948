"""What every adapter's simulator test needs: a fast retry policy, a simulator reset to a
known brain, one call through the real retry loop, and the simulator's truth for a request.

Why shared: the adapters differ in wire format, not in how a test drives them, and the same
helper in five files would drift (one file's `call` forgetting the limiter, say)."""

from __future__ import annotations

import random

from harness.call import CallOutcome, execute_call
from harness.local_limiters import LimiterCore, UnlimitedLimiter
from harness.retry import RetryPolicy
from harness.seam import CallRequest, Message, ProviderAPI
from simulator.config import BrainConfig, SimConfig
from simulator.server import SimThread
from simulator.truth import RequestTruth

FAST = RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.05, deadline_s=20)
BRAIN = BrainConfig(ttft_ms=30, itl_ms=3, output_tokens=8)


def setup(sim: SimThread, brain: BrainConfig = BRAIN, **cfg: object) -> None:
    """A clean simulator: `brain` for every model, `cfg` (faults, limits, models...) on top."""
    sim.configure(SimConfig(default_brain=brain, **cfg))  # type: ignore[arg-type]
    sim.reset()


def req(model: str = "m", *, stream: bool = True, content: str = "hello there", timeout_s: float = 10.0,
        **kw: object) -> CallRequest:
    return CallRequest(model=model, messages=[Message(role="user", content=content)], stream=stream,
                       timeout_s=timeout_s, max_tokens=64, **kw)  # type: ignore[arg-type]


async def call(api: ProviderAPI, request: CallRequest, policy: RetryPolicy = FAST,
               limiter: LimiterCore | UnlimitedLimiter | None = None) -> CallOutcome:
    """One call through the real retry loop, with a seeded jitter."""
    return await execute_call(api, request, limiter or UnlimitedLimiter(), policy, holder="test",
                              rng=random.Random(0))


def truth_of(sim: SimThread, request_id: str | None) -> RequestTruth:
    matches = [t for t in sim.truths() if t.request_id == request_id]
    assert len(matches) == 1, (request_id, sim.truths())
    return matches[0]
