"""Ground truth vs. what a client measures: measured TTFT >= truth, and close to it."""

from __future__ import annotations

import time

from openai import AsyncOpenAI

from simulator import SimConfig, SimThread
from tests.simulator._helpers import MSG


async def _measure(c: AsyncOpenAI, model: str) -> tuple[int, int]:
    t0 = time.monotonic_ns()
    stream = await c.chat.completions.create(model=model, messages=MSG, stream=True)
    first = 0
    async for chunk in stream:
        if not first and chunk.choices and chunk.choices[0].delta.content:
            first = time.monotonic_ns()
    return t0, first


async def test_client_ttft_bounds_truth() -> None:
    """Simulator on its own loop/thread, like a separate process; the client is warmed up
    first so connection setup and lazy imports are not in the measured call."""
    cfg = SimConfig.model_validate({"models": {
        "fast": {"ttft_ms": 30, "itl_ms": 2, "output_tokens": 4},
        "slow": {"ttft_ms": 100, "itl_ms": 2, "output_tokens": 4}}})
    with SimThread(cfg) as sim:
        async with AsyncOpenAI(base_url=sim.url + "/v1", api_key="sk-test", max_retries=0) as c:
            await _measure(c, "fast")
            for model, want_ms in (("fast", 30), ("slow", 100)):
                t0, first = await _measure(c, model)
                truth = sim.truths()[-1]
                assert truth.model == model and truth.first_content_ns is not None
                truth_ms = (truth.first_content_ns - truth.arrival_ns) / 1e6
                measured_ms = (first - t0) / 1e6
                assert want_ms <= truth_ms < want_ms + 10, truth_ms
                assert measured_ms >= truth_ms
                assert measured_ms - truth_ms < 20, (measured_ms, truth_ms)
                assert t0 <= truth.arrival_ns and truth.first_content_ns <= first
                assert truth.headers_sent_ns is not None and truth.headers_sent_ns < truth.first_content_ns
