"""Ollama through the official client (ollama.AsyncClient)."""

from __future__ import annotations

import aiohttp
import ollama
import pytest
from ollama import AsyncClient

from tests.simulator._helpers import FAST, MSG, fault_cfg, track
from tests.simulator.conftest import StartSim


async def test_chat_stream(start_sim: StartSim) -> None:
    sim = await start_sim(models={"llama-sim": FAST})
    parts = [p async for p in await track(AsyncClient(host=sim.url)).chat(model="llama-sim", messages=MSG, stream=True)]
    content = [p.message.content for p in parts if not p.done]
    assert len(content) == 8 and all(content)
    last = parts[-1]
    assert last.done and last.done_reason == "stop" and last.eval_count == 8
    assert last.prompt_eval_count == 4 and last.total_duration and last.total_duration > 0
    truth = sim.truths()[-1]
    assert (truth.api, truth.stream, truth.output_tokens) == ("ollama", True, 8)


async def test_chat_non_stream_num_predict_and_echo(start_sim: StartSim) -> None:
    sim = await start_sim(models={"e": {**FAST, "output": {"kind": "echo"}, "output_tokens": 64}})
    c = track(AsyncClient(host=sim.url))
    resp = await c.chat(model="e", messages=MSG, stream=False)
    assert resp.done and resp.message.content == "hello simulator"
    cut = await c.chat(model="e", messages=MSG, options={"num_predict": 2})
    assert cut.done_reason == "length" and cut.eval_count == 2


async def test_tool_call(start_sim: StartSim) -> None:
    out = {"kind": "tool_call", "tool_name": "lookup", "tool_arguments": {"q": "x"}}
    sim = await start_sim(models={"m": {**FAST, "output": out}})
    resp = await track(AsyncClient(host=sim.url)).chat(model="m", messages=MSG)
    calls = resp.message.tool_calls or []
    assert calls[0].function.name == "lookup" and dict(calls[0].function.arguments) == {"q": "x"}


async def test_list_ps_version(start_sim: StartSim) -> None:
    sim = await start_sim(models={"llama-sim": {**FAST, "context_window": 8192}})
    c = track(AsyncClient(host=sim.url))
    assert [m.model for m in (await c.list()).models] == ["llama-sim"]
    ps = (await c.ps()).models
    assert ps[0].model == "llama-sim" and ps[0].context_length == 8192
    async with aiohttp.ClientSession() as http, http.get(sim.url + "/api/version") as resp:
        assert (await resp.json())["version"]  # the client has no version() call; raw GET


async def test_error_is_response_error(start_sim: StartSim) -> None:
    sim = await start_sim(**fault_cfg("server_error"))
    with pytest.raises(ollama.ResponseError) as info:
        await track(AsyncClient(host=sim.url)).chat(model="m", messages=MSG)
    assert info.value.status_code == 500 and "server had an error" in info.value.error
