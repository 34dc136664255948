"""Every HTTP adapter, with the real SDK over real HTTP, meets the same simulator faults
the same way: 5xx retried, a cut stream is `stream_broken` (retried), a garbled body is
`malformed_response`, a hung server is a `timeout`, an oversized prompt is
`context_overflow` (never retried), an exhausted quota is never retried.

Why one module for all adapters: the retry policy and aggregation reason over error
classes, so an adapter that files a failure under another class would skew every provider
comparison it takes part in. Wire-specific behaviour stays in each adapter's own test file."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from harness.providers.anthropic_messages import AnthropicProvider
from harness.providers.ollama_chat import OllamaProvider
from harness.providers.openai_compat import OpenAICompatProvider
from harness.providers.openai_responses import OpenAIResponsesProvider
from harness.retry import RetryPolicy
from harness.seam import ProviderAPI
from simulator.config import BrainConfig, FaultRule, SimConfig
from simulator.server import SimThread
from tests.harness.sim_support import FAST, call, req, setup

KEY = "sk-sim-conformance-key-0001"
ADAPTERS: dict[str, Callable[[str], ProviderAPI]] = {
    "chat-aiohttp": lambda url: OpenAICompatProvider("sim", url + "/v1", KEY, "SIM_KEY", transport="aiohttp"),
    "chat-httpx": lambda url: OpenAICompatProvider("sim", url + "/v1", KEY, "SIM_KEY", transport="httpx"),
    "responses-aiohttp": lambda url: OpenAIResponsesProvider("sim", url + "/v1", KEY, "SIM_KEY",
                                                             transport="aiohttp"),
    "responses-httpx": lambda url: OpenAIResponsesProvider("sim", url + "/v1", KEY, "SIM_KEY", transport="httpx"),
    "messages-aiohttp": lambda url: AnthropicProvider("sim-anthropic", url, KEY, "SIM_KEY", transport="aiohttp"),
    "messages-httpx": lambda url: AnthropicProvider("sim-anthropic", url, KEY, "SIM_KEY", transport="httpx"),
    "ollama": lambda url: OllamaProvider("ollama-sim", url),
}
QUOTA_STATUS = {"chat": 429, "responses": 429, "messages": 402}  # by wire
STREAM = pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    with SimThread(SimConfig()) as running:
        yield running


@pytest.fixture(params=sorted(ADAPTERS))
async def provider(request: pytest.FixtureRequest, sim: SimThread) -> AsyncIterator[ProviderAPI]:
    api = ADAPTERS[request.param](sim.url)
    yield api
    await api.aclose()


async def test_5xx_is_retried_then_ok(sim: SimThread, provider: ProviderAPI) -> None:
    setup(sim, faults=[FaultRule(kind="server_error", at=[1, 2])])
    outcome = await call(provider, req())
    assert outcome.status == "ok" and outcome.attempts == 3
    assert [a.error_class for a in outcome.attempt_log] == ["server_error", "server_error", None]
    assert [a.status for a in outcome.attempt_log[:2]] == [500, 500]
    assert [t.status for t in sim.truths()] == [500, 500, 200]


@STREAM
async def test_stream_cut_is_stream_broken(sim: SimThread, provider: ProviderAPI, stream: bool) -> None:
    setup(sim, faults=[FaultRule(kind="stream_cut", rate=1.0, cut_after_tokens=2)])
    outcome = await call(provider, req(stream=stream), policy=FAST.model_copy(update={"max_attempts": 2}))
    assert outcome.status == "error" and outcome.error_class == "stream_broken"
    assert outcome.attempts == 2 and len(sim.truths()) == 2  # transient: retried
    if stream:  # headers had arrived, so the broken attempt still names the server's request
        assert [a.request_id for a in outcome.attempt_log] == [t.request_id for t in sim.truths()]


@STREAM
async def test_malformed_body(sim: SimThread, provider: ProviderAPI, stream: bool) -> None:
    setup(sim, faults=[FaultRule(kind="malformed", rate=1.0)])
    outcome = await call(provider, req(stream=stream), policy=RetryPolicy(max_attempts=1))
    assert outcome.status == "error" and outcome.error_class == "malformed_response"


@STREAM
async def test_hang_times_out(sim: SimThread, provider: ProviderAPI, stream: bool) -> None:
    setup(sim, faults=[FaultRule(kind="hang", rate=1.0, hang_s=30)])
    t0 = time.monotonic()
    outcome = await call(provider, req(timeout_s=0.5, stream=stream), policy=RetryPolicy(max_attempts=1))
    assert outcome.status == "error" and outcome.error_class == "timeout"
    assert 0.45 <= time.monotonic() - t0 < 3.0


async def test_context_overflow_is_not_retried(sim: SimThread, provider: ProviderAPI) -> None:
    setup(sim, models={"small": BrainConfig(context_window=50)})
    outcome = await call(provider, req("small", content="word " * 400))
    assert outcome.status == "error" and outcome.error_class == "context_overflow"
    assert outcome.attempts == 1 and len(sim.truths()) == 1
    assert outcome.error_message is not None and "400" in outcome.error_message


@pytest.mark.parametrize("name", [n for n in sorted(ADAPTERS) if n != "ollama"])  # Ollama has no quota
async def test_quota_is_not_retried(sim: SimThread, name: str) -> None:
    api = ADAPTERS[name](sim.url)
    setup(sim, faults=[FaultRule(kind="quota", rate=1.0)])
    try:
        outcome = await call(api, req())
    finally:
        await api.aclose()
    assert outcome.status == "error" and outcome.error_class == "quota_exhausted"
    assert outcome.attempts == 1 and len(sim.truths()) == 1
    assert outcome.attempt_log[0].status == QUOTA_STATUS[name.split("-")[0]]
