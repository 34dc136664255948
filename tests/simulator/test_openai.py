"""OpenAI Chat Completions through the official SDK (AsyncOpenAI, retries off)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI

from tests.simulator._helpers import FAST, MSG, fault_cfg, track
from tests.simulator.conftest import StartSim


def client(url: str, **kw: Any) -> AsyncOpenAI:
    return track(AsyncOpenAI(base_url=url + "/v1", api_key="sk-test", max_retries=0, **kw))


async def test_stream_role_content_finish_usage(start_sim: StartSim) -> None:
    sim = await start_sim(models={"m": FAST})
    stream = await client(sim.url).chat.completions.create(
        model="m", messages=MSG, stream=True, stream_options={"include_usage": True})
    chunks = [c async for c in stream]
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[0].choices[0].delta.content == ""
    content = [c.choices[0].delta.content for c in chunks[1:] if c.choices and c.choices[0].delta.content]
    assert len(content) == 8
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 8
    truth = sim.truths()[-1]
    assert (truth.status, truth.output_tokens, truth.stream, truth.api) == (200, 8, True, "openai")
    assert truth.headers_sent_ns is not None and truth.first_content_ns is not None
    assert truth.headers_sent_ns < truth.first_content_ns


async def test_stream_ends_with_done_and_no_usage_without_option(start_sim: StartSim) -> None:
    """Raw SSE: `data: [DONE]` is last, and no usage chunk unless include_usage was asked."""
    sim = await start_sim(models={"m": FAST})
    async with client(sim.url).chat.completions.with_streaming_response.create(
            model="m", messages=MSG, stream=True) as resp:
        assert resp.headers["x-request-id"].startswith("sim-")
        text = (await resp.read()).decode()
    events = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    assert all(json.loads(e)["choices"] for e in events[:-1])


async def test_non_stream_and_max_tokens(start_sim: StartSim) -> None:
    sim = await start_sim(models={"m": FAST})
    c = client(sim.url)
    full = await c.chat.completions.create(model="m", messages=MSG)
    assert full.choices[0].finish_reason == "stop" and full.choices[0].message.content
    assert full.usage is not None and full.usage.completion_tokens == 8
    assert full.usage.prompt_tokens == 4  # ceil(len("hello simulator") / 4)
    cut = await c.chat.completions.create(model="m", messages=MSG, max_tokens=3)
    assert cut.choices[0].finish_reason == "length" and cut.usage and cut.usage.completion_tokens == 3
    raw = await c.chat.completions.with_raw_response.create(model="m", messages=MSG)
    assert raw.headers["x-request-id"] == raw.headers["request-id"] == sim.truths()[-1].request_id


async def test_tool_call_stream_and_json(start_sim: StartSim) -> None:
    out = {"kind": "tool_call", "tool_name": "lookup", "tool_arguments": {"q": "paris", "n": 3}}
    sim = await start_sim(models={"m": {**FAST, "output": out}})
    c = client(sim.url)
    full = await c.chat.completions.create(model="m", messages=MSG)
    call = (full.choices[0].message.tool_calls or [])[0]
    assert call.type == "function"
    assert full.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "lookup" and json.loads(call.function.arguments) == {"q": "paris", "n": 3}
    stream = await c.chat.completions.create(model="m", messages=MSG, stream=True)
    args, names, finish = "", [], None
    async for chunk in stream:
        choice = chunk.choices[0]
        for tc in choice.delta.tool_calls or []:
            if tc.function and tc.function.name:
                names.append(tc.function.name)
            args += (tc.function.arguments or "") if tc.function else ""
        finish = choice.finish_reason or finish
    assert names == ["lookup"] and json.loads(args) == {"q": "paris", "n": 3} and finish == "tool_calls"


async def test_list_models(start_sim: StartSim) -> None:
    sim = await start_sim(models={"gpt-sim": FAST, "pattern-*": FAST})
    page = await client(sim.url).models.list()
    assert [m.id for m in page.data] == ["gpt-sim"]


@pytest.mark.parametrize("fmt,header,value", [
    ("seconds", "retry-after", "3"),
    ("ms", "retry-after-ms", "2500"),
    ("openai_reset", "x-ratelimit-reset-requests", "1m30s"),
])
async def test_rate_limit_fault(start_sim: StartSim, fmt: str, header: str, value: str) -> None:
    seconds = {"seconds": 2.2, "ms": 2.5, "openai_reset": 90}[fmt]
    sim = await start_sim(**fault_cfg("rate_limit", retry_after_s=seconds, retry_after_format=fmt))
    with pytest.raises(openai.RateLimitError) as info:
        await client(sim.url).chat.completions.create(model="m", messages=MSG)
    assert info.value.response.headers[header] == value
    assert info.value.code == "rate_limit_exceeded"
    assert sim.truths()[-1].fault == "rate_limit" and sim.truths()[-1].status == 429


async def test_rate_limit_http_date(start_sim: StartSim) -> None:
    sim = await start_sim(**fault_cfg("rate_limit", retry_after_s=30, retry_after_format="http_date"))
    with pytest.raises(openai.RateLimitError) as info:
        await client(sim.url).chat.completions.create(model="m", messages=MSG)
    assert info.value.response.headers["retry-after"].endswith(" GMT")


async def test_quota_has_code_and_no_retry_after(start_sim: StartSim) -> None:
    sim = await start_sim(**fault_cfg("quota", retry_after_s=5))
    with pytest.raises(openai.RateLimitError) as info:
        await client(sim.url).chat.completions.create(model="m", messages=MSG)
    assert info.value.code == "insufficient_quota"
    assert isinstance(info.value.body, dict) and info.value.body["type"] == "insufficient_quota"
    assert "retry-after" not in info.value.response.headers


@pytest.mark.parametrize("kind,status", [("server_error", 500), ("overloaded", 503)])
async def test_server_faults(start_sim: StartSim, kind: str, status: int) -> None:
    sim = await start_sim(**fault_cfg(kind))
    with pytest.raises(openai.InternalServerError) as info:
        await client(sim.url).chat.completions.create(model="m", messages=MSG)
    assert info.value.status_code == status


async def test_fault_at_counts_requests_per_model(start_sim: StartSim) -> None:
    """`at: [1, 2]` with model "m": the 1st and 2nd request *to m* fail, other models don't count."""
    sim = await start_sim(models={"m": FAST, "other": FAST},
                          faults=[{"kind": "server_error", "at": [1, 2], "model": "m", "status": 502}])
    c = client(sim.url)
    await c.chat.completions.create(model="other", messages=MSG)
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            await c.chat.completions.create(model="m", messages=MSG)
    await c.chat.completions.create(model="m", messages=MSG)
    assert [(t.model, t.model_seq, t.status) for t in sim.truths()] == [
        ("other", 1, 200), ("m", 1, 502), ("m", 2, 502), ("m", 3, 200)]


async def test_stream_cut_raises_connection_error(start_sim: StartSim) -> None:
    """Documented behaviour: the SDK raises APIConnectionError mid-iteration (httpx sees an
    incomplete chunked body) after yielding the role chunk and `cut_after_tokens` chunks;
    no finish_reason is ever seen."""
    sim = await start_sim(**fault_cfg("stream_cut", cut_after_tokens=2))
    stream = await client(sim.url).chat.completions.create(
        model="m", messages=MSG, stream=True)
    got: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        async for chunk in stream:
            assert chunk.choices[0].finish_reason is None
            got.append(chunk.choices[0].delta.content or "")
    assert len([g for g in got if g]) == 2
    truth = sim.truths()[-1]
    assert truth.fault == "stream_cut" and truth.output_tokens == 2


async def test_stream_cut_non_stream_raises_connection_error(start_sim: StartSim) -> None:
    sim = await start_sim(**fault_cfg("stream_cut"))
    with pytest.raises(openai.APIConnectionError):
        await client(sim.url).chat.completions.create(model="m", messages=MSG)


async def test_malformed(start_sim: StartSim) -> None:
    """Documented behaviour: the installed SDK does not wrap JSON errors, so both the
    non-stream call and the stream iteration raise json.JSONDecodeError (a ValueError)."""
    sim = await start_sim(**fault_cfg("malformed"))
    c = client(sim.url)
    with pytest.raises(json.JSONDecodeError):
        await c.chat.completions.create(model="m", messages=MSG)
    stream = await c.chat.completions.create(model="m", messages=MSG, stream=True)
    with pytest.raises(json.JSONDecodeError):
        async for _ in stream:
            pass


async def test_hang_times_out_and_records_disconnect(start_sim: StartSim) -> None:
    sim = await start_sim(**fault_cfg("hang", hang_s=30))
    with pytest.raises(openai.APITimeoutError):
        await client(sim.url, timeout=0.5).chat.completions.create(
            model="m", messages=MSG)
    for _ in range(50):  # the server learns of the disconnect asynchronously
        if sim.truths()[-1].end_ns is not None:
            break
        await asyncio.sleep(0.02)
    truth = sim.truths()[-1]
    assert truth.fault == "hang" and truth.client_disconnected and truth.status is None


async def test_context_overflow(start_sim: StartSim) -> None:
    sim = await start_sim(models={"m": {**FAST, "context_window": 10}})
    with pytest.raises(openai.BadRequestError) as info:
        await client(sim.url).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x" * 41}])
    assert info.value.code == "context_length_exceeded"
    assert "maximum context length is 10 tokens" in info.value.message
    assert sim.truths()[-1].input_tokens == 11


@pytest.mark.parametrize("key", ["sk-wrong", None])
async def test_wrong_key_and_auth_fault(start_sim: StartSim, key: str | None) -> None:
    cfg = {"models": {"m": FAST}, "api_keys": ["sk-right"]} if key else fault_cfg("auth")
    sim = await start_sim(**cfg)
    c = track(AsyncOpenAI(base_url=sim.url + "/v1", api_key=key or "sk-test", max_retries=0))
    with pytest.raises(openai.AuthenticationError):
        await c.chat.completions.create(model="m", messages=MSG)


async def test_unknown_model(start_sim: StartSim) -> None:
    sim = await start_sim(models={"m": FAST}, default_brain=FAST)
    ok = await client(sim.url).chat.completions.create(model="nope", messages=MSG)
    assert ok.usage and ok.usage.completion_tokens == 8
    sim404 = await start_sim(models={"m": FAST}, unknown_model_404=True)
    with pytest.raises(openai.NotFoundError) as info:
        await client(sim404.url).chat.completions.create(model="nope", messages=MSG)
    assert info.value.code == "model_not_found"
