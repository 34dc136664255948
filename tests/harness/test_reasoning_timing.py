"""Reasoning-aware timing over real HTTP, against the simulator's ground truth: for the
Responses API with reasoning effort and for Anthropic extended thinking, the first token of
any kind, the first answer token (TTFT), the reasoning's duration and its tokens, with
the reasoning streamed as text or hidden, through our stream reader and the SDK's."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import aiohttp
import pytest

from harness.providers.anthropic_messages import AnthropicProvider
from harness.providers.openai_responses import OpenAIResponsesProvider
from harness.seam import ProviderAPI
from simulator.config import BrainConfig, SimConfig
from simulator.server import SimThread
from tests.harness.sim_support import call, req, setup, truth_of

KEY = "sk-sim-reasoning-0001"
REASONING_TOKENS, MS_PER_TOKEN = 40, 5.0  # 200 ms of reasoning
ADAPTERS: dict[str, Callable[[str], ProviderAPI]] = {  # our reader over aiohttp, the SDK's over httpx
    "responses-aiohttp": lambda url: OpenAIResponsesProvider("sim", url + "/v1", KEY, "K"),
    "responses-httpx": lambda url: OpenAIResponsesProvider("sim", url + "/v1", KEY, "K", transport="httpx"),
    "messages-aiohttp": lambda url: AnthropicProvider("sim", url, KEY, "K"),
    "messages-httpx": lambda url: AnthropicProvider("sim", url, KEY, "K", transport="httpx"),
}


def brain(visible: bool | None) -> BrainConfig:
    return BrainConfig(ttft_ms=20, itl_ms=2, output_tokens=6, reasoning_tokens={"high": REASONING_TOKENS},
                       reasoning_ms_per_token=MS_PER_TOKEN, reasoning_text=visible)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    with SimThread(SimConfig()) as running:
        yield running


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
@pytest.mark.parametrize("visible", [True, False], ids=["streamed", "hidden"])
async def test_first_token_answer_token_and_reasoning_apart(sim: SimThread, adapter: str, visible: bool) -> None:
    setup(sim, brain=brain(visible))
    api = ADAPTERS[adapter](sim.url)
    try:
        # the SDK builds its event models on first use (~200 ms here, inside the stream): not
        # what is measured, so one call first
        await call(api, req(variant="high"))
        outcome = await call(api, req(variant="high"))
    finally:
        await api.aclose()
    assert outcome.status == "ok" and outcome.response is not None, outcome.error_message
    truth = truth_of(sim, outcome.response.request_id)
    assert outcome.response.reasoning_tokens == truth.reasoning_tokens == REASONING_TOKENS
    assert outcome.response.output_tokens == truth.output_tokens  # the visible answer only
    assert truth.reasoning_start_ns is not None and truth.reasoning_end_ns is not None
    assert truth.ttft_ms is not None and truth.reasoning_ms is not None
    assert outcome.ttft_ms is not None and outcome.first_token_ms is not None and outcome.reasoning_ms is not None
    # never earlier than the server sent it (both from our send vs its arrival)
    assert outcome.ttft_ms >= truth.ttft_ms >= REASONING_TOKENS * MS_PER_TOKEN
    if visible:
        assert truth.first_reasoning_ns is not None
        assert outcome.first_token_ms >= (truth.first_reasoning_ns - truth.arrival_ns) / 1e6
        assert outcome.first_token_ms < outcome.ttft_ms  # the reasoning's tokens came first
    else:
        assert truth.first_reasoning_ns is None and outcome.first_token_ms == outcome.ttft_ms
    # the duration is a difference of two client stamps, each late by our own delivery delay
    assert abs(outcome.reasoning_ms - truth.reasoning_ms) < 100.0, (outcome.reasoning_ms, truth.reasoning_ms)


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
async def test_without_reasoning_the_first_token_is_the_answer(sim: SimThread, adapter: str) -> None:
    setup(sim, brain=brain(True))
    api = ADAPTERS[adapter](sim.url)
    try:
        outcome = await call(api, req())  # no effort variant: no reasoning asked for
    finally:
        await api.aclose()
    assert outcome.status == "ok" and outcome.response is not None
    assert not outcome.response.reasoning_tokens and truth_of(sim, outcome.response.request_id).reasoning_start_ns is None
    assert outcome.first_token_ms == outcome.ttft_ms and outcome.reasoning_ms is None


async def _frames(url: str, path: str, body: dict[str, object], headers: dict[str, str]) -> list[dict[str, object]]:
    async with aiohttp.ClientSession() as session, session.post(url + path, json=body, headers=headers) as resp:
        text = await resp.text()
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]


async def test_the_simulator_streams_reasoning_in_order(sim: SimThread) -> None:
    """The wire itself: Responses sequence numbers run 0..n-1 with the reasoning between
    the head and the answer; Anthropic's thinking is block 0 and the answer block 1."""
    setup(sim, brain=brain(True))
    events = await _frames(sim.url, "/v1/responses", {"model": "m", "input": "hi", "stream": True,
                                                      "reasoning": {"effort": "high"}}, {})
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    kinds = [str(e["type"]) for e in events]
    first_answer = kinds.index("response.output_text.delta")
    assert kinds.count("response.reasoning_text.delta") == REASONING_TOKENS
    assert kinds.index("response.reasoning_text.delta") < kinds.index("response.output_item.done") < first_answer
    assert kinds[-1] == "response.completed"
    thinking = await _frames(sim.url, "/v1/messages", {
        "model": "m", "max_tokens": 20000, "stream": True, "messages": [{"role": "user", "content": "hi"}],
        "thinking": {"type": "enabled", "budget_tokens": 16384}}, {"anthropic-version": "2023-06-01"})
    deltas = [e for e in thinking if e["type"] == "content_block_delta"]
    assert [d["index"] for d in deltas] == [0] * (REASONING_TOKENS + 1) + [1] * (len(deltas) - REASONING_TOKENS - 1)
    usage = next(e for e in thinking if e["type"] == "message_delta")["usage"]
    assert usage["output_tokens_details"] == {"thinking_tokens": REASONING_TOKENS}  # type: ignore[index]


@pytest.mark.parametrize("adapter", ["responses-aiohttp", "messages-aiohttp"])
async def test_a_whole_response_counts_reasoning_apart(sim: SimThread, adapter: str) -> None:
    setup(sim, brain=brain(True))
    api = ADAPTERS[adapter](sim.url)
    try:
        outcome = await call(api, req(variant="high", stream=False))
    finally:
        await api.aclose()
    assert outcome.status == "ok" and outcome.response is not None, outcome.error_message
    truth = truth_of(sim, outcome.response.request_id)
    assert outcome.response.reasoning_tokens == truth.reasoning_tokens == REASONING_TOKENS
    assert outcome.response.output_tokens == truth.output_tokens and outcome.response.text
