"""Sliding-window and concurrency limits, observed through the OpenAI SDK and truths."""

from __future__ import annotations

import asyncio
import math

import openai
import pytest
from openai import AsyncOpenAI

from simulator.config import LimitConfig, SimConfig
from simulator.limits import Limiter
from tests.simulator._helpers import FAST, MSG, track
from tests.simulator.conftest import StartSim


async def _call(c: AsyncOpenAI, model: str = "m") -> int | openai.RateLimitError:
    try:
        await c.chat.completions.create(model=model, messages=MSG)
        return 200
    except openai.RateLimitError as err:
        return err


async def test_window_burst_then_recovery(start_sim: StartSim) -> None:
    sim = await start_sim(models={"m": FAST}, limits={"requests_per_window": 3, "window_s": 1})
    c = track(AsyncOpenAI(base_url=sim.url + "/v1", api_key="sk-test", max_retries=0))
    results = await asyncio.gather(*(_call(c) for _ in range(5)))
    assert results.count(200) == 3
    rejected = [r for r in results if isinstance(r, openai.RateLimitError)]
    assert len(rejected) == 2
    truths = sim.truths()
    accepted = sorted(t.arrival_ns for t in truths if t.status == 200)
    assert len(accepted) == 3 and [t.seq for t in truths] == [1, 2, 3, 4, 5]
    for err in rejected:
        rid = err.response.headers["x-request-id"]
        truth = next(t for t in truths if t.request_id == rid)
        assert truth.status == 429 and truth.fault is None
        exact_ms = (accepted[0] + 1_000_000_000 - truth.arrival_ns) / 1e6
        assert abs(int(err.response.headers["retry-after-ms"]) - exact_ms) <= 1
        assert err.response.headers["retry-after"] == str(math.ceil(exact_ms / 1000))
    wait_s = max(int(e.response.headers["retry-after-ms"]) for e in rejected) / 1000
    await asyncio.sleep(wait_s + 0.01)
    assert await _call(c) == 200


async def test_concurrency_limit(start_sim: StartSim) -> None:
    sim = await start_sim(models={"m": {**FAST, "ttft_ms": 200}}, limits={"max_concurrent": 2})
    c = track(AsyncOpenAI(base_url=sim.url + "/v1", api_key="sk-test", max_retries=0))
    results = await asyncio.gather(*(_call(c) for _ in range(3)))
    rejected = [r for r in results if isinstance(r, openai.RateLimitError)]
    assert results.count(200) == 2 and len(rejected) == 1
    assert rejected[0].response.headers["retry-after"] == "1"
    assert await _call(c) == 200  # slots freed


async def test_per_model_limit_pattern(start_sim: StartSim) -> None:
    sim = await start_sim(models={"a-1": FAST, "b": FAST},
                          per_model_limits={"a-*": {"requests_per_window": 1, "window_s": 60}})
    c = track(AsyncOpenAI(base_url=sim.url + "/v1", api_key="sk-test", max_retries=0))
    assert await _call(c, "a-1") == 200
    assert isinstance(await _call(c, "a-1"), openai.RateLimitError)
    assert await _call(c, "b") == 200
    sim.reset()  # clears windows
    assert await _call(c, "a-1") == 200


def test_rejections_do_not_count() -> None:
    lim = Limiter(SimConfig(limits=LimitConfig(requests_per_window=2, window_s=1.0)))
    s = 1_000_000_000
    assert lim.try_acquire("m", 0) is None and lim.try_acquire("m", s // 2) is None
    rej = lim.try_acquire("m", s // 2 + 1)
    assert rej is not None and rej.retry_after_s == pytest.approx(0.5 - 1e-9)
    assert lim.try_acquire("m", s) is None  # first arrival left; the rejected one never counted
    assert lim.try_acquire("m", s + 1) is not None
