"""The real anthropic SDK over real HTTP against the simulator, checked against its ground truth."""

from __future__ import annotations

import json
import random
import socket
import time
from collections.abc import AsyncIterator, Iterator

import aiohttp
import httpx2
import pytest

from harness.call import CallOutcome, execute_call
from harness.limiter import LimiterCore, UnlimitedLimiter
from harness.limits import ProviderLimits
from harness.providers.anthropic_messages import AnthropicProvider, Transport, anthropic_tool
from harness.retry import RetryPolicy
from harness.seam import CallRequest, Message
from harness.timing import CallClock
from simulator.config import BrainConfig, FaultRule, OutputSpec, SimConfig
from simulator.server import SimThread
from simulator.truth import RequestTruth

KEY = "sk-ant-sim-test-key-0001"
ENV = "SIM_ANTHROPIC_API_KEY"
FAST = RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.05, deadline_s=20)
BRAIN = BrainConfig(ttft_ms=30, itl_ms=3, output_tokens=8)
TRANSPORTS: list[Transport] = ["aiohttp", "httpx"]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    with SimThread(SimConfig()) as running:
        yield running


def setup(sim: SimThread, **cfg: object) -> None:
    sim.configure(SimConfig(default_brain=BRAIN, **cfg))  # type: ignore[arg-type]
    sim.reset()


def make(sim: SimThread, key: str = KEY, transport: Transport = "aiohttp") -> AnthropicProvider:
    return AnthropicProvider("sim-anthropic", sim.url, key, ENV, transport=transport)


@pytest.fixture(params=TRANSPORTS)
async def provider(request: pytest.FixtureRequest, sim: SimThread) -> AsyncIterator[AnthropicProvider]:
    api = make(sim, transport=request.param)
    yield api
    await api.aclose()


def req(model: str = "claude-sim", *, stream: bool = True, content: str = "hello there",
        timeout_s: float = 10.0, **kw: object) -> CallRequest:
    return CallRequest(model=model, messages=[Message(role="user", content=content)], stream=stream,
                       timeout_s=timeout_s, max_tokens=64, **kw)  # type: ignore[arg-type]


async def call(api: AnthropicProvider, request: CallRequest, policy: RetryPolicy = FAST,
               limiter: LimiterCore | UnlimitedLimiter | None = None) -> CallOutcome:
    return await execute_call(api, request, limiter or UnlimitedLimiter(), policy, holder="test",
                              rng=random.Random(0))


def truth_of(sim: SimThread, request_id: str | None) -> RequestTruth:
    matches = [t for t in sim.truths() if t.request_id == request_id]
    assert len(matches) == 1, (request_id, sim.truths())
    return matches[0]


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
    assert min(gaps) < 10.0, gaps


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
    assert truth.ttft_ms <= outcome.ttft_ms < truth.ttft_ms + 10.0


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


async def test_429_retry_after_is_honoured(sim: SimThread) -> None:
    setup(sim, faults=[FaultRule(kind="rate_limit", at=[1], retry_after_s=1.0)])
    api = make(sim)
    limiter = LimiterCore(ProviderLimits())
    try:
        outcome = await call(api, req(), limiter=limiter)
    finally:
        await api.aclose()
    assert outcome.status == "ok" and outcome.attempts == 2
    first = outcome.attempt_log[0]
    assert first.error_class == "rate_limited" and first.status == 429 and first.retry_after_s == 1.0
    assert first.waited_s >= 1.0
    rejected, accepted = sim.truths()
    assert rejected.status == 429 and accepted.status == 200
    assert rejected.end_ns is not None
    assert accepted.arrival_ns - rejected.end_ns >= 1_000_000_000


async def test_529_overloaded_is_transient_and_retried(sim: SimThread, provider: AnthropicProvider) -> None:
    setup(sim, faults=[FaultRule(kind="overloaded", at=[1], retry_after_s=0.2)])
    outcome = await call(provider, req())
    assert outcome.status == "ok" and outcome.attempts == 2
    first = outcome.attempt_log[0]
    assert first.error_class == "overloaded" and first.status == 529 and first.retry_after_s == 1.0
    assert [t.status for t in sim.truths()] == [529, 200]


async def test_quota_is_not_retried(sim: SimThread, provider: AnthropicProvider) -> None:
    setup(sim, faults=[FaultRule(kind="quota", rate=1.0)])
    outcome = await call(provider, req())
    assert outcome.status == "error" and outcome.error_class == "quota_exhausted"
    assert outcome.attempts == 1 and len(sim.truths()) == 1
    assert outcome.attempt_log[0].status == 402


async def test_5xx_is_retried_then_ok(sim: SimThread, provider: AnthropicProvider) -> None:
    setup(sim, faults=[FaultRule(kind="server_error", at=[1, 2])])
    outcome = await call(provider, req())
    assert outcome.status == "ok" and outcome.attempts == 3
    assert [a.error_class for a in outcome.attempt_log] == ["server_error", "server_error", None]
    assert [t.status for t in sim.truths()] == [500, 500, 200]


@pytest.mark.parametrize("stream", [True, False])
async def test_stream_cut_is_stream_broken(sim: SimThread, provider: AnthropicProvider, stream: bool) -> None:
    setup(sim, faults=[FaultRule(kind="stream_cut", rate=1.0, cut_after_tokens=2)])
    outcome = await call(provider, req(stream=stream), policy=FAST.model_copy(update={"max_attempts": 2}))
    assert outcome.status == "error" and outcome.error_class == "stream_broken"
    assert outcome.attempts == 2 and len(sim.truths()) == 2  # transient: retried
    if stream:  # headers had arrived, so the broken attempt still names the server's request
        assert [a.request_id for a in outcome.attempt_log] == [t.request_id for t in sim.truths()]


@pytest.mark.parametrize("stream", [True, False])
async def test_malformed_body(sim: SimThread, provider: AnthropicProvider, stream: bool) -> None:
    setup(sim, faults=[FaultRule(kind="malformed", rate=1.0)])
    outcome = await call(provider, req(stream=stream), policy=RetryPolicy(max_attempts=1))
    assert outcome.status == "error" and outcome.error_class == "malformed_response"


async def test_hang_times_out(sim: SimThread, provider: AnthropicProvider) -> None:
    setup(sim, faults=[FaultRule(kind="hang", rate=1.0, hang_s=30)])
    t0 = time.monotonic()
    outcome = await call(provider, req(timeout_s=0.5), policy=RetryPolicy(max_attempts=1))
    assert outcome.status == "error" and outcome.error_class == "timeout"
    assert 0.45 <= time.monotonic() - t0 < 3.0


async def test_context_overflow_is_not_retried(sim: SimThread, provider: AnthropicProvider) -> None:
    setup(sim, models={"small": BrainConfig(context_window=50)})
    outcome = await call(provider, req("small", content="word " * 400))
    assert outcome.status == "error" and outcome.error_class == "context_overflow"
    assert outcome.attempts == 1 and len(sim.truths()) == 1
    assert outcome.error_message is not None and "HTTP 400" in outcome.error_message


async def test_wrong_key_is_auth_and_never_leaks_the_key(sim: SimThread) -> None:
    setup(sim, api_keys=["sk-ant-right"])
    wrong = "sk-ant-wrong-key-0123456789"
    api = make(sim, wrong)
    try:
        outcome = await call(api, req())
    finally:
        await api.aclose()
    assert outcome.status == "error" and outcome.error_class == "auth" and outcome.attempts == 1
    assert outcome.error_message is not None
    assert f"${ENV}" in outcome.error_message and "HTTP 401" in outcome.error_message
    assert wrong not in outcome.error_message and "0123456789" not in outcome.error_message
    assert wrong not in api.connection_key() and api.connection_key().startswith("sim-anthropic:")
    right = make(sim, "sk-ant-right")
    try:
        assert (await call(right, req())).status == "ok"
    finally:
        await right.aclose()


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


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_connection_refused_is_connection(transport: Transport) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api = AnthropicProvider("sim", f"http://127.0.0.1:{port}", KEY, ENV, transport=transport)
    try:
        outcome = await call(api, req(), policy=RetryPolicy(max_attempts=1))
    finally:
        await api.aclose()
    assert outcome.status == "error" and outcome.error_class == "connection"
    await api.warm_up()  # best effort: never raises


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
