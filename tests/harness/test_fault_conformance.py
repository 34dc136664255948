"""Every HTTP adapter, with the real SDK over real HTTP, meets the same simulator faults
the same way: a 429's Retry-After is waited out, 5xx retried, a cut stream is
`stream_broken` (retried), a garbled body is `malformed_response`, a hung server is a
`timeout`, an oversized prompt is `context_overflow`, an exhausted quota and a wrong key
are never retried (and the key never shows), a refused connection is `connection`.

Why one module for all adapters: the retry policy and aggregation reason over error
classes, so an adapter that files a failure under another class would skew every provider
comparison it takes part in. Wire-specific behaviour stays in each adapter's own test file."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from harness.limit_contract import ProviderLimits
from harness.local_limiters import LimiterCore
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
ENV = "SIM_KEY"
ADAPTERS: dict[str, Callable[[str, str], ProviderAPI]] = {  # (base url, key) -> adapter
    "chat-aiohttp": lambda url, key: OpenAICompatProvider("sim", url + "/v1", key, ENV, transport="aiohttp"),
    "chat-httpx": lambda url, key: OpenAICompatProvider("sim", url + "/v1", key, ENV, transport="httpx"),
    "responses-aiohttp": lambda url, key: OpenAIResponsesProvider("sim", url + "/v1", key, ENV, transport="aiohttp"),
    "responses-httpx": lambda url, key: OpenAIResponsesProvider("sim", url + "/v1", key, ENV, transport="httpx"),
    "messages-aiohttp": lambda url, key: AnthropicProvider("sim-anthropic", url, key, ENV, transport="aiohttp"),
    "messages-httpx": lambda url, key: AnthropicProvider("sim-anthropic", url, key, ENV, transport="httpx"),
    "ollama": lambda url, key: OllamaProvider("ollama-sim", url),
}
KEYED = [name for name in sorted(ADAPTERS) if name != "ollama"]  # Ollama servers take no key and have no quota
QUOTA_STATUS = {"chat": 429, "responses": 429, "messages": 402}  # by wire
STREAM = pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    with SimThread(SimConfig()) as running:
        yield running


@pytest.fixture(params=sorted(ADAPTERS))
async def provider(request: pytest.FixtureRequest, sim: SimThread) -> AsyncIterator[ProviderAPI]:
    api = ADAPTERS[request.param](sim.url, KEY)
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


@pytest.mark.parametrize("name", KEYED)
async def test_quota_is_not_retried(sim: SimThread, name: str) -> None:
    api = ADAPTERS[name](sim.url, KEY)
    setup(sim, faults=[FaultRule(kind="quota", rate=1.0)])
    try:
        outcome = await call(api, req())
    finally:
        await api.aclose()
    assert outcome.status == "error" and outcome.error_class == "quota_exhausted"
    assert outcome.attempts == 1 and len(sim.truths()) == 1
    assert outcome.attempt_log[0].status == QUOTA_STATUS[name.split("-")[0]]


async def test_429_retry_after_is_honoured(sim: SimThread, provider: ProviderAPI) -> None:
    setup(sim, faults=[FaultRule(kind="rate_limit", at=[1], retry_after_s=1.0)])
    limiter = LimiterCore(ProviderLimits())
    outcome = await call(provider, req(), limiter=limiter)
    assert outcome.status == "ok" and outcome.attempts == 2
    first = outcome.attempt_log[0]
    assert first.error_class == "rate_limited" and first.status == 429 and first.retry_after_s == 1.0
    assert first.waited_s >= 1.0
    rejected, accepted = sim.truths()
    assert rejected.status == 429 and accepted.status == 200 and rejected.end_ns is not None
    assert accepted.arrival_ns - rejected.end_ns >= 1_000_000_000  # the server saw the wait
    assert limiter.stats()["granted_total"] == 2  # the retry asked the limiter again


@pytest.mark.parametrize("name", KEYED)
async def test_wrong_key_is_auth_and_never_leaks_the_key(sim: SimThread, name: str) -> None:
    setup(sim, api_keys=["sk-right-0001"])
    wrong = "sk-wrong-key-0123456789"
    api, right = ADAPTERS[name](sim.url, wrong), ADAPTERS[name](sim.url, "sk-right-0001")
    try:
        outcome = await call(api, req())
        assert (await call(right, req())).status == "ok"
    finally:
        await api.aclose()
        await right.aclose()
    assert outcome.status == "error" and outcome.error_class == "auth" and outcome.attempts == 1
    assert outcome.error_message is not None
    assert f"${ENV}" in outcome.error_message and "HTTP 401" in outcome.error_message
    assert wrong not in outcome.error_message and "0123456789" not in outcome.error_message
    assert "0123456789" not in api.connection_key()


@pytest.mark.parametrize("name", sorted(ADAPTERS))
async def test_connection_refused_is_connection(name: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    api = ADAPTERS[name](f"http://127.0.0.1:{port}", KEY)
    try:
        outcome = await call(api, req(), policy=RetryPolicy(max_attempts=1))
        await api.warm_up()  # best effort: never raises
    finally:
        await api.aclose()
    assert outcome.status == "error" and outcome.error_class == "connection"
