"""The real ollama client over real HTTP against the simulator's Ollama wire, checked
against its ground truth (mirrors test_openai_compat_sim)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from harness.errors import ErrorClass
from harness.limit_contract import ProviderLimits
from harness.local_limiters import LimiterCore
from harness.providers.ollama_chat import OllamaProvider
from harness.retry import RetryPolicy
from harness.seam import CallRequest, Message
from harness.timing import CallClock
from simulator.config import BrainConfig, FaultRule, OutputSpec, SimConfig
from simulator.server import SimThread
from tests.harness.sim_support import call, req, setup, truth_of


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    with SimThread(SimConfig()) as running:
        yield running


@pytest.fixture
async def provider(sim: SimThread) -> AsyncIterator[OllamaProvider]:
    api = OllamaProvider("ollama-sim", sim.url)
    yield api
    await api.aclose()


async def test_streaming_ttft_matches_truth(sim: SimThread, provider: OllamaProvider) -> None:
    setup(sim)
    await provider.warm_up()
    for _ in range(2):
        clock = CallClock()
        clock.start()
        response = await provider.call(req(), clock)
        truth = truth_of(sim, response.request_id)
        assert truth.api == "ollama" and truth.stream
        assert clock.ttft_ms is not None and truth.ttft_ms is not None
        assert clock.ttft_ms >= truth.ttft_ms
        assert clock.sent_ns is not None  # the httpcore trace hook stamped the send
        assert response.finish_reason == "stop" and response.text
        assert response.output_tokens == truth.output_tokens == 8
        assert response.input_tokens == truth.input_tokens
        assert len(clock.content_ns) == 8  # the final `done` line carries no content
        assert clock.first_byte_ns is not None and clock.first_byte_ns <= clock.content_ns[0]


async def test_execute_call_streaming_and_non_streaming(sim: SimThread, provider: OllamaProvider) -> None:
    setup(sim)
    streamed = await call(provider, req())
    assert streamed.status == "ok" and streamed.attempts == 1 and streamed.streamed
    assert streamed.ttft_ms is not None and streamed.ttft_ms >= 30
    assert streamed.e2e_ms is not None and streamed.e2e_ms >= streamed.ttft_ms
    assert streamed.itl_p50_ms is not None
    once = await call(provider, req(stream=False))
    assert once.status == "ok" and not once.streamed and once.response is not None
    truth = truth_of(sim, once.response.request_id)
    assert not truth.stream and once.response.output_tokens == truth.output_tokens
    assert once.response.text and once.response.finish_reason == "stop"
    assert once.ttft_ms is not None and once.ttfb_ms is not None


async def test_num_predict_gives_length(sim: SimThread, provider: OllamaProvider) -> None:
    setup(sim)
    request = CallRequest(model="m", messages=[Message(role="user", content="hi")], max_tokens=3)
    outcome = await call(provider, request)
    assert outcome.response is not None and outcome.response.finish_reason == "length"
    assert outcome.response.output_tokens == 3


@pytest.mark.parametrize("stream", [True, False])
async def test_tool_call(sim: SimThread, provider: OllamaProvider, stream: bool) -> None:
    setup(sim, models={"tools": BrainConfig(ttft_ms=5, itl_ms=1, output=OutputSpec(kind="tool_call"))})
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    outcome = await call(provider, req("tools", tools=[tool], stream=stream))
    assert outcome.status == "ok" and outcome.response is not None
    assert outcome.response.tool_calls == [{"name": "get_weather", "arguments": {"city": "Paris"}}]
    assert outcome.ttft_ms is not None  # a tool-call line counts as content


async def test_503_is_overloaded_and_retried(sim: SimThread, provider: OllamaProvider) -> None:
    setup(sim, faults=[FaultRule(kind="overloaded", at=[1])])
    outcome = await call(provider, req(stream=False))
    assert outcome.status == "ok" and outcome.attempt_log[0].error_class == "overloaded"


async def test_429_retry_after_reaches_the_decision(sim: SimThread, provider: OllamaProvider) -> None:
    setup(sim, faults=[FaultRule(kind="rate_limit", at=[1], retry_after_s=0.3,
                                                retry_after_format="ms")])
    limiter = LimiterCore(ProviderLimits())
    outcome = await call(provider, req(), limiter=limiter)
    assert outcome.status == "ok" and outcome.attempts == 2
    first = outcome.attempt_log[0]
    assert first.error_class == "rate_limited" and first.status == 429
    assert first.retry_after_s == pytest.approx(0.3) and first.waited_s >= 0.3


async def test_unknown_model_names_model_and_host(sim: SimThread, provider: OllamaProvider) -> None:
    setup(sim, unknown_model_404=True)
    outcome = await call(provider, req("llama9:70b"))
    assert outcome.status == "error" and outcome.error_class == "bad_request" and outcome.attempts == 1
    assert outcome.error_message is not None
    assert "model 'llama9:70b' is not pulled on " + sim.url in outcome.error_message


@pytest.mark.parametrize("stream", [True, False])
async def test_connection_refused_names_host_and_env(stream: bool) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api = OllamaProvider("ollama", f"127.0.0.1:{port}")
    try:
        outcome = await call(api, req(stream=stream), policy=RetryPolicy(max_attempts=1))
        await api.warm_up()  # best effort: never raises
    finally:
        await api.aclose()
    assert outcome.status == "error" and outcome.error_class == "connection"
    assert outcome.error_message is not None
    assert f"http://127.0.0.1:{port}" in outcome.error_message and "OLLAMA_HOST" in outcome.error_message


def test_host_from_env_and_connection_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "10.1.2.3:5555")
    api = OllamaProvider("ollama", None)
    assert api.host == "http://10.1.2.3:5555"
    assert api.connection_key() == "ollama:http://10.1.2.3:5555"
    monkeypatch.delenv("OLLAMA_HOST")
    assert OllamaProvider("ollama", None).host == "http://127.0.0.1:11434"
    assert api.capabilities("m").tools and api.capabilities("m").streaming
    decision = api.classify(ValueError("x"))
    assert decision.error_class == ErrorClass.MALFORMED_RESPONSE
