"""The real anthropic SDK over real HTTP against the simulator, checked against its ground truth."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import httpx2
import pytest

from harness.providers.anthropic_messages import AnthropicProvider, Transport, anthropic_tool
from harness.seam import CallRequest, Message
from harness.timing import CallClock
from simulator.config import BrainConfig, FaultRule, OutputSpec, SimConfig
from simulator.server import SimThread
from tests.harness.sim_support import call, setup, truth_of
from tests.harness.sim_support import req as sim_req

KEY = "sk-ant-sim-test-key-0001"
ENV = "SIM_ANTHROPIC_API_KEY"
TRANSPORTS: list[Transport] = ["aiohttp", "httpx"]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    with SimThread(SimConfig()) as running:
        yield running


def make(sim: SimThread, key: str = KEY, transport: Transport = "aiohttp") -> AnthropicProvider:
    return AnthropicProvider("sim-anthropic", sim.url, key, ENV, transport=transport)


@pytest.fixture(params=TRANSPORTS)
async def provider(request: pytest.FixtureRequest, sim: SimThread) -> AsyncIterator[AnthropicProvider]:
    api = make(sim, transport=request.param)
    yield api
    await api.aclose()


def req(model: str = "claude-sim", **kw: Any) -> CallRequest:
    return sim_req(model, **kw)


async def test_streaming_ttft_matches_truth_and_usage(sim: SimThread, provider: AnthropicProvider) -> None:
    setup(sim)
    await provider.warm_up()
    gaps = []
    for _ in range(3):
        clock = CallClock()
        clock.start()
        response = await provider.call(req(), clock)
        truth = truth_of(sim, response.request_id)
        assert truth.api == "anthropic" and truth.stream
        assert clock.ttft_ms is not None and truth.ttft_ms is not None
        assert clock.ttft_ms >= truth.ttft_ms
        gaps.append(clock.ttft_ms - truth.ttft_ms)
        assert response.finish_reason == "end_turn" and response.text
        assert response.output_tokens == truth.output_tokens == 8
        assert response.input_tokens == truth.input_tokens
        assert len(clock.content_ns) == 8  # message_start/ping/block_start are not content
        assert clock.first_byte_ns is not None and clock.first_byte_ns <= clock.content_ns[0]
    assert min(gaps) < 50.0, gaps  # the best of several calls: near the truth even on a loaded machine


async def test_non_streaming(sim: SimThread, provider: AnthropicProvider) -> None:
    setup(sim)
    await provider.warm_up()
    outcome = await call(provider, req(stream=False))
    assert outcome.status == "ok" and not outcome.streamed and outcome.response is not None
    truth = truth_of(sim, outcome.response.request_id)
    assert not truth.stream and truth.ttft_ms is not None
    assert outcome.response.text and outcome.response.finish_reason == "end_turn"
    assert outcome.response.output_tokens == truth.output_tokens
    assert outcome.ttft_ms is not None and outcome.ttfb_ms is not None
    # never before the server's answer; the upper bound holds on a machine with a CPU hog on
    # both cores (63 ms against 52 ms seen there), the precise figures are the benchmarks'
    assert truth.ttft_ms <= outcome.ttft_ms < truth.ttft_ms + 250.0


async def test_system_goes_to_the_system_parameter(sim: SimThread) -> None:
    setup(sim, models={"echo": BrainConfig(ttft_ms=1, itl_ms=0, output=OutputSpec(kind="echo"))})
    api = make(sim)
    request = CallRequest(model="echo", messages=[Message(role="system", content="x" * 400),
                                                  Message(role="user", content="ping")], max_tokens=64)
    try:
        outcome = await call(api, request)
    finally:
        await api.aclose()
    assert outcome.status == "ok" and outcome.response is not None
    assert outcome.response.text == "ping"  # a system *message* would have been rejected
    assert outcome.response.input_tokens is not None and outcome.response.input_tokens >= 100


@pytest.mark.parametrize("stream", [True, False])
async def test_tool_use_becomes_tool_calls(sim: SimThread, stream: bool) -> None:
    setup(sim, models={"tools": BrainConfig(ttft_ms=5, itl_ms=1, output=OutputSpec(kind="tool_call"))})
    tool = {"type": "function", "function": {"name": "get_weather", "description": "weather",
                                             "parameters": {"type": "object"}}}
    assert anthropic_tool(tool) == {"name": "get_weather", "description": "weather",
                                    "input_schema": {"type": "object"}}
    api = make(sim)
    try:
        outcome = await call(api, req("tools", stream=stream, tools=[tool]))
    finally:
        await api.aclose()
    assert outcome.status == "ok" and outcome.response is not None
    (tc,) = outcome.response.tool_calls
    assert tc["name"] == "get_weather" and tc["arguments"] == {"city": "Paris"} and tc["id"]
    assert outcome.response.finish_reason == "tool_use" and outcome.ttft_ms is not None


async def test_529_overloaded_is_transient_and_retried(sim: SimThread, provider: AnthropicProvider) -> None:
    setup(sim, faults=[FaultRule(kind="overloaded", at=[1], retry_after_s=0.2)])
    outcome = await call(provider, req())
    assert outcome.status == "ok" and outcome.attempts == 2
    first = outcome.attempt_log[0]
    assert first.error_class == "overloaded" and first.status == 529 and first.retry_after_s == 1.0
    assert [t.status for t in sim.truths()] == [529, 200]


async def test_env_fallback_for_url_and_key(sim: SimThread, monkeypatch: pytest.MonkeyPatch) -> None:
    setup(sim, api_keys=["sk-ant-from-env-0001"])
    monkeypatch.setenv("ANTHROPIC_BASE_URL", sim.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env-0001")
    api = AnthropicProvider("env", None, None)
    try:
        assert api.base_url.startswith(sim.url)
        assert (await call(api, req())).status == "ok"
    finally:
        await api.aclose()


def test_raw_exceptions_escaping_mid_stream_are_classified() -> None:
    api = AnthropicProvider("sim", "http://127.0.0.1:9", KEY, ENV)
    cut = api.classify(httpx2.RemoteProtocolError("peer closed connection"))
    assert (cut.kind, cut.error_class) == ("transient", "stream_broken")
    payload = api.classify(aiohttp.ClientPayloadError("truncated"))
    assert (payload.kind, payload.error_class) == ("transient", "stream_broken")
    bad = api.classify(json.JSONDecodeError("Expecting value", "{", 1))
    assert (bad.kind, bad.error_class) == ("transient", "malformed_response")
    leaky = api.classify(RuntimeError(f"boom {KEY}"))
    assert KEY not in leaky.message and (leaky.kind, leaky.error_class) == ("no", "unknown")
