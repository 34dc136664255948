"""Anthropic Messages through the official SDK (AsyncAnthropic, retries off)."""

from __future__ import annotations

import json

import anthropic
import httpx2
import pytest
from anthropic import AsyncAnthropic

from tests.simulator._helpers import FAST, MSG, fault_cfg, track
from tests.simulator.conftest import StartSim


def client(url: str, key: str = "sk-ant-test") -> AsyncAnthropic:
    return track(AsyncAnthropic(base_url=url, api_key=key, max_retries=0))


async def test_non_stream(start_sim: StartSim) -> None:
    sim = await start_sim(models={"claude-sim": FAST})
    msg = await client(sim.url).messages.create(model="claude-sim", max_tokens=100, messages=MSG)
    assert msg.stop_reason == "end_turn" and msg.content[0].type == "text"
    assert msg.usage.output_tokens == 8 and msg.usage.input_tokens == 4
    cut = await client(sim.url).messages.create(model="claude-sim", max_tokens=2, messages=MSG)
    assert cut.stop_reason == "max_tokens" and cut.usage.output_tokens == 2


async def test_stream_helper_and_events(start_sim: StartSim) -> None:
    sim = await start_sim(models={"claude-sim": FAST})
    c = client(sim.url)
    async with c.messages.stream(model="claude-sim", max_tokens=100, messages=MSG) as stream:
        texts = [t async for t in stream.text_stream]
        final = await stream.get_final_message()
    assert len(texts) == 8 and final.stop_reason == "end_turn" and final.usage.output_tokens == 8
    raw = await c.messages.create(model="claude-sim", max_tokens=100, messages=MSG, stream=True)
    types = [event.type async for event in raw]
    assert types[:3] == ["message_start", "content_block_start", "content_block_delta"] or \
        types[:2] == ["message_start", "content_block_start"]
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert types.count("content_block_delta") == 8
    assert sim.truths()[-1].request_id.startswith("sim-")


async def test_tool_use(start_sim: StartSim) -> None:
    out = {"kind": "tool_call", "tool_name": "lookup", "tool_arguments": {"q": "paris"}}
    sim = await start_sim(models={"m": {**FAST, "output": out}})
    c = client(sim.url)
    msg = await c.messages.create(model="m", max_tokens=100, messages=MSG)
    block = msg.content[0]
    assert msg.stop_reason == "tool_use" and block.type == "tool_use"
    assert block.name == "lookup" and block.input == {"q": "paris"}
    async with c.messages.stream(model="m", max_tokens=100, messages=MSG) as stream:
        final = await stream.get_final_message()
    assert final.content[0].type == "tool_use" and final.content[0].input == {"q": "paris"}


async def test_models_list(start_sim: StartSim) -> None:
    sim = await start_sim(models={"claude-sim": FAST})
    page = await client(sim.url).models.list()
    assert [m.id for m in page.data] == ["claude-sim"]


async def test_overloaded_529(start_sim: StartSim) -> None:
    sim = await start_sim(**fault_cfg("overloaded"))
    with pytest.raises(anthropic.OverloadedError) as info:
        await client(sim.url).messages.create(model="m", max_tokens=10, messages=MSG)
    assert info.value.status_code == 529 and info.value.type == "overloaded_error"
    assert info.value.request_id == sim.truths()[-1].request_id


async def test_rate_limit_429(start_sim: StartSim) -> None:
    sim = await start_sim(**fault_cfg("rate_limit", retry_after_s=1.5, retry_after_format="ms"))
    with pytest.raises(anthropic.RateLimitError) as info:
        await client(sim.url).messages.create(model="m", max_tokens=10, messages=MSG)
    assert info.value.type == "rate_limit_error"
    assert info.value.response.headers["retry-after-ms"] == "1500"


async def test_quota_is_402_billing(start_sim: StartSim) -> None:
    sim = await start_sim(**fault_cfg("quota"))
    with pytest.raises(anthropic.PaymentRequiredError) as info:
        await client(sim.url).messages.create(model="m", max_tokens=10, messages=MSG)
    assert info.value.type == "billing_error" and "credit balance" in (info.value.api_message or "")


async def test_server_error_auth_context(start_sim: StartSim) -> None:
    sim = await start_sim(**fault_cfg("server_error"))
    with pytest.raises(anthropic.InternalServerError):
        await client(sim.url).messages.create(model="m", max_tokens=10, messages=MSG)
    sim = await start_sim(models={"m": {**FAST, "context_window": 3}}, api_keys=["sk-ant-good"])
    with pytest.raises(anthropic.AuthenticationError):
        await client(sim.url).messages.create(model="m", max_tokens=10, messages=MSG)
    with pytest.raises(anthropic.BadRequestError) as info:
        await client(sim.url, "sk-ant-good").messages.create(model="m", max_tokens=10, messages=MSG)
    assert info.value.type == "invalid_request_error"
    assert "prompt is too long: 4 tokens > 3 maximum" in str(info.value)


async def test_stream_cut_and_malformed(start_sim: StartSim) -> None:
    """Documented: the installed anthropic SDK lets httpx2.RemoteProtocolError escape a cut
    stream unwrapped, and json.JSONDecodeError for a malformed event."""
    sim = await start_sim(**fault_cfg("stream_cut"))
    with pytest.raises((httpx2.RemoteProtocolError, anthropic.APIConnectionError)):
        async with client(sim.url).messages.stream(model="m", max_tokens=10, messages=MSG) as s:
            async for _ in s:
                pass
    sim = await start_sim(**fault_cfg("malformed"))
    with pytest.raises(json.JSONDecodeError):
        async with client(sim.url).messages.stream(model="m", max_tokens=10, messages=MSG) as s:
            async for _ in s:
                pass
