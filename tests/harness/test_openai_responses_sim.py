"""The Responses adapter with the real openai SDK over real HTTP against the simulator's
`/v1/responses`, checked against its ground truth (mirrors test_openai_compat_sim)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import pytest

from harness.errors import ErrorClass, ProviderCallError
from harness.providers.openai_compat import Transport
from harness.providers.openai_responses import OpenAIResponsesProvider, event_error
from harness.seam import CallRequest, Message
from harness.timing import CallClock
from simulator.config import BrainConfig, OutputSpec, SimConfig
from simulator.server import SimThread
from tests.harness.sim_support import call, truth_of
from tests.harness.sim_support import setup as sim_setup

KEY = "sk-sim-responses-key-0001"
BRAIN = BrainConfig(ttft_ms=30, itl_ms=3, output_tokens=8,
                    reasoning_tokens={"low": 20, "medium": 100, "high": 400}, reasoning_ms_per_token=0.5)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    with SimThread(SimConfig()) as running:
        yield running


def setup(sim: SimThread, **cfg: object) -> None:
    sim_setup(sim, BRAIN, **cfg)  # a brain that reasons, for the effort variants


@pytest.fixture(params=["aiohttp", "httpx"])
async def provider(request: pytest.FixtureRequest, sim: SimThread) -> AsyncIterator[OpenAIResponsesProvider]:
    transport: Transport = request.param
    api = OpenAIResponsesProvider("sim", sim.url + "/v1", KEY, "SIM_TEST_API_KEY", transport=transport)
    yield api
    await api.aclose()


def req(model: str = "gpt-5-codex", *, stream: bool = True, variant: str = "", max_tokens: int = 64,
        **kw: object) -> CallRequest:
    return CallRequest(model=model, variant=variant, stream=stream, max_tokens=max_tokens, timeout_s=10.0,
                       messages=[Message(role="system", content="Answer briefly."),
                                 Message(role="user", content="hello there")], **kw)  # type: ignore[arg-type]


async def test_streaming_matches_truth(sim: SimThread, provider: OpenAIResponsesProvider) -> None:
    setup(sim)
    await provider.warm_up()
    clock = CallClock()
    clock.start()
    response = await provider.call(req(), clock)
    truth = truth_of(sim, response.request_id)
    assert truth.api == "responses" and truth.stream
    assert clock.ttft_ms is not None and truth.ttft_ms is not None and clock.ttft_ms >= truth.ttft_ms
    assert response.finish_reason == "stop" and response.text.startswith("The quick brown fox")
    assert response.output_tokens == truth.output_tokens == 8 and response.reasoning_tokens == 0
    # instructions (the system message) count as input, as they do for the real API
    assert response.input_tokens == truth.input_tokens > len("hello there") // 4
    assert len(clock.content_ns) == 8  # one per output_text delta; lifecycle events are not content


async def test_non_streaming(sim: SimThread, provider: OpenAIResponsesProvider) -> None:
    setup(sim)
    outcome = await call(provider, req(stream=False))
    assert outcome.status == "ok" and not outcome.streamed and outcome.response is not None
    truth = truth_of(sim, outcome.response.request_id)
    assert not truth.stream and outcome.response.finish_reason == "stop"
    assert outcome.response.output_tokens == truth.output_tokens
    assert outcome.ttft_ms is not None and outcome.ttfb_ms is not None


@pytest.mark.parametrize("stream", [True, False])
async def test_high_effort_reasons_more_and_is_slower(sim: SimThread, provider: OpenAIResponsesProvider,
                                                      stream: bool) -> None:
    setup(sim)
    low = await call(provider, req(variant="low", stream=stream))
    high = await call(provider, req(variant="high", stream=stream))
    assert low.response is not None and high.response is not None
    assert (low.response.reasoning_tokens, high.response.reasoning_tokens) == (20, 400)
    assert truth_of(sim, high.response.request_id).reasoning_tokens == 400
    assert high.response.output_tokens == low.response.output_tokens == 8  # visible only
    assert low.ttft_ms is not None and high.ttft_ms is not None
    # Lower bounds only: load can delay any call (the first one also opens the connection),
    # but nothing can make the high-effort call think for less than 400 tokens x 0.5 ms.
    assert high.ttft_ms >= 400 * 0.5 and high.ttft_ms > low.ttft_ms


async def test_non_effort_variant_is_not_sent(sim: SimThread, provider: OpenAIResponsesProvider) -> None:
    setup(sim)
    outcome = await call(provider, req(variant="terse"))
    assert outcome.response is not None and outcome.response.reasoning_tokens == 0


async def test_max_output_tokens_is_length_not_error(sim: SimThread,
                                                     provider: OpenAIResponsesProvider) -> None:
    setup(sim)
    for stream in (True, False):
        outcome = await call(provider, req(max_tokens=3, stream=stream))
        assert outcome.status == "ok" and outcome.response is not None
        assert outcome.response.finish_reason == "length" and outcome.response.output_tokens == 3


async def test_streamed_tool_call(sim: SimThread, provider: OpenAIResponsesProvider) -> None:
    setup(sim, models={"tools": BrainConfig(ttft_ms=5, itl_ms=1, output=OutputSpec(kind="tool_call"))})
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    for stream in (True, False):
        outcome = await call(provider, req("tools", tools=[tool], stream=stream))
        assert outcome.status == "ok" and outcome.response is not None
        (tc,) = outcome.response.tool_calls
        assert tc["function"]["name"] == "get_weather" and tc["id"]
        assert json.loads(tc["function"]["arguments"]) == {"city": "Paris"}
        assert outcome.response.finish_reason == "tool_calls" and outcome.ttft_ms is not None


def test_in_stream_failure_codes() -> None:
    assert event_error("server_error", "x", 200).error_class == ErrorClass.SERVER_ERROR
    assert event_error("rate_limit_exceeded", "x", 200).error_class == ErrorClass.RATE_LIMITED
    assert event_error("insufficient_quota", "x", 200).error_class == ErrorClass.QUOTA_EXHAUSTED
    assert event_error("invalid_prompt", "x", 200).error_class == ErrorClass.BAD_REQUEST
    assert event_error(None, "x", 200).error_class == ErrorClass.SERVER_ERROR
    api = OpenAIResponsesProvider("p", "http://127.0.0.1:1/v1", KEY, "K", transport="httpx")
    assert api.classify(event_error("server_error", "x", 200)).kind == "transient"
    assert api.classify(event_error("invalid_prompt", "x", 200)).kind == "no"
    assert isinstance(event_error("x", "y", None), ProviderCallError)


def test_request_shape() -> None:
    api = OpenAIResponsesProvider("p", "http://127.0.0.1:1/v1", KEY, "K", transport="httpx")
    codex = api._kwargs(req(variant="high"))
    assert codex["reasoning"] == {"effort": "high"} and "temperature" not in codex
    assert codex["instructions"] == "Answer briefly." and codex["input"] == [
        {"role": "user", "content": "hello there"}]
    plain = api._kwargs(req("gpt-4.1-mini"))
    assert plain["temperature"] == 0.0 and "reasoning" not in plain
