"""OpenAI Responses through the official SDK, including its strict stream helper
(`responses.stream`), which rejects out-of-order or inconsistent events."""

from __future__ import annotations

from typing import Any, Literal

import openai
import pytest
from openai import AsyncOpenAI

from tests.simulator._helpers import FAST, fault_cfg, track
from tests.simulator.conftest import StartSim

REASONING: dict[str, Any] = {**FAST, "reasoning_tokens": {"low": 4, "high": 40}, "reasoning_ms_per_token": 1}


def client(url: str) -> AsyncOpenAI:
    return track(AsyncOpenAI(base_url=url + "/v1", api_key="sk-test", max_retries=0))


async def test_event_sequence_and_usage(start_sim: StartSim) -> None:
    sim = await start_sim(models={"m": REASONING})
    stream = await client(sim.url).responses.create(model="m", input="hi", stream=True,
                                                    reasoning={"effort": "high"})
    events = [e async for e in stream]
    kinds = [e.type for e in events]
    assert kinds == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.output_item.done",  # the reasoning item
        "response.output_item.added", "response.content_part.added",
        *["response.output_text.delta"] * 8,
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.completed",
    ]
    assert kinds.count("response.output_text.delta") == 8
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1]
    assert final.type == "response.completed" and final.response.usage is not None
    usage = final.response.usage
    assert usage.output_tokens_details.reasoning_tokens == 40 and usage.output_tokens == 48
    assert final.response.output_text == "".join(
        e.delta for e in events if e.type == "response.output_text.delta")
    (truth,) = sim.truths()
    assert truth.api == "responses" and truth.reasoning_tokens == 40 and truth.output_tokens == 8


@pytest.mark.parametrize("effort", ["low", "high"])
async def test_sdk_stream_helper_accepts_the_sequence(start_sim: StartSim,
                                                      effort: Literal["low", "high"]) -> None:
    sim = await start_sim(models={"m": REASONING})
    async with client(sim.url).responses.stream(model="m", input="hi", instructions="be brief",
                                                reasoning={"effort": effort}) as stream:
        async for _ in stream:
            pass
        final = await stream.get_final_response()
    assert final.status == "completed" and final.output_text


async def test_json_body_and_incomplete(start_sim: StartSim) -> None:
    sim = await start_sim(models={"m": FAST})
    full = await client(sim.url).responses.create(model="m", input=[{"role": "user", "content": "hi"}])
    assert full.status == "completed" and full.usage is not None and full.usage.output_tokens == 8
    cut = await client(sim.url).responses.create(model="m", input="hi", max_output_tokens=2)
    assert cut.status == "incomplete" and cut.incomplete_details is not None
    assert cut.incomplete_details.reason == "max_output_tokens"


async def test_quota_error_is_openai_shaped(start_sim: StartSim) -> None:
    sim = await start_sim(**fault_cfg("quota"))
    with pytest.raises(openai.RateLimitError) as info:
        await client(sim.url).responses.create(model="m", input="hi")
    assert info.value.code == "insufficient_quota"
