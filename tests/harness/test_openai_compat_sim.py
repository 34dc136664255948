"""The real openai SDK over real HTTP against the simulator, checked against its ground truth."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import pytest

from harness.providers.openai_compat import OpenAICompatProvider, Transport
from harness.retry import RetryPolicy
from harness.timing import CallClock
from simulator.config import BrainConfig, FaultRule, OutputSpec, SimConfig
from simulator.server import SimThread
from tests.harness.sim_support import call, req, setup, truth_of

KEY = "sk-sim-test-key-0001"
TRANSPORTS: list[Transport] = ["aiohttp", "httpx"]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    with SimThread(SimConfig()) as running:
        yield running


@pytest.fixture(params=TRANSPORTS)
async def provider(request: pytest.FixtureRequest, sim: SimThread) -> AsyncIterator[OpenAICompatProvider]:
    api = OpenAICompatProvider("sim", sim.url + "/v1", KEY, "SIM_TEST_API_KEY", transport=request.param)
    yield api
    await api.aclose()


async def test_streaming_ttft_matches_truth_and_usage_is_consumed(
        sim: SimThread, provider: OpenAICompatProvider) -> None:
    setup(sim)
    await provider.warm_up()  # connection and SDK set-up are not the model's latency
    gaps = []
    for _ in range(3):
        clock = CallClock()
        clock.start()
        response = await provider.call(req(), clock)
        truth = truth_of(sim, response.request_id)
        assert clock.ttft_ms is not None and truth.ttft_ms is not None
        assert clock.ttft_ms >= truth.ttft_ms
        gaps.append(clock.ttft_ms - truth.ttft_ms)
        assert response.finish_reason == "stop" and response.text
        # the usage arrives in a final chunk with no choices: it was read, not crashed on
        assert response.output_tokens == truth.output_tokens == 8
        assert response.input_tokens == truth.input_tokens
        assert len(clock.content_ns) == 8  # the role-only chunk is not content
        assert clock.first_byte_ns is not None and clock.first_byte_ns <= clock.content_ns[0]
    assert min(gaps) < 50.0, gaps  # the best of several calls: near the truth even on a loaded machine


async def test_execute_call_streaming_outcome(sim: SimThread, provider: OpenAICompatProvider) -> None:
    setup(sim)
    outcome = await call(provider, req())
    assert outcome.status == "ok" and outcome.attempts == 1 and outcome.streamed
    assert outcome.ttft_ms is not None and outcome.ttft_ms >= 30
    assert outcome.itl_p50_ms is not None and outcome.itl_p95_ms is not None
    assert outcome.e2e_ms is not None and outcome.e2e_ms >= outcome.ttft_ms


async def test_non_streaming(sim: SimThread, provider: OpenAICompatProvider) -> None:
    setup(sim)
    outcome = await call(provider, req(stream=False))
    assert outcome.status == "ok" and not outcome.streamed and outcome.response is not None
    truth = truth_of(sim, outcome.response.request_id)
    assert not truth.stream
    assert outcome.response.text and outcome.response.finish_reason == "stop"
    assert outcome.response.output_tokens == truth.output_tokens
    assert outcome.ttft_ms is not None and outcome.ttfb_ms is not None


async def test_streamed_tool_call_is_assembled(sim: SimThread, provider: OpenAICompatProvider) -> None:
    setup(sim, models={"tools": BrainConfig(ttft_ms=5, itl_ms=1, output=OutputSpec(kind="tool_call"))})
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    outcome = await call(provider, req("tools", tools=[tool]))
    assert outcome.status == "ok" and outcome.response is not None
    (tc,) = outcome.response.tool_calls
    assert tc["function"]["name"] == "get_weather" and tc["id"]
    assert json.loads(tc["function"]["arguments"]) == {"city": "Paris"}
    assert outcome.ttft_ms is not None  # tool-call deltas count as content


@pytest.mark.parametrize("fmt", ["ms", "openai_reset", "seconds"])
async def test_retry_after_formats_reach_the_decision(sim: SimThread, fmt: str) -> None:
    setup(sim, faults=[FaultRule(kind="rate_limit", rate=1.0, retry_after_s=2.0,
                                 retry_after_format=fmt)])  # type: ignore[arg-type]
    api = OpenAICompatProvider("sim", sim.url + "/v1", KEY, "SIM_TEST_API_KEY")
    try:
        outcome = await call(api, req(), policy=RetryPolicy(max_attempts=1))
    finally:
        await api.aclose()
    assert outcome.error_class == "rate_limited"
    assert outcome.attempt_log[0].retry_after_s == pytest.approx(2.0)

