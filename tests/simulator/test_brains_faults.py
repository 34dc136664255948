"""Unit rules: chunking, output kinds, token estimates, fault selection, header formats;
plus a client that walks away mid-stream."""

from __future__ import annotations

import asyncio
import json

from openai import AsyncOpenAI

from simulator.brains import estimate_tokens, make_output, resolve_brain, split_chunks
from simulator.config import BrainConfig, FaultRule, SimConfig
from simulator.faults import FaultEngine, retry_after_headers
from tests.simulator._helpers import MSG, track
from tests.simulator.conftest import StartSim


def test_split_chunks_concatenate_and_count() -> None:
    text = "one two three four five"
    assert split_chunks(text, 3) == ["one", " two", " three four five"]
    assert "".join(split_chunks(text, 100)) == text and len(split_chunks(text, 100)) == 23
    assert split_chunks("", 5) == []


def test_output_kinds_and_max_tokens() -> None:
    short = BrainConfig.model_validate({"output": {"kind": "text", "text": "hi there"}, "output_tokens": 64})
    assert len(make_output(short, "", None).chunks) == 8  # fewer chunks than output_tokens: fine
    js = BrainConfig.model_validate({"output": {"kind": "json", "json_template": {"a": [1, 2]}}})
    assert json.loads(make_output(js, "", None).text) == {"a": [1, 2]}
    echo = BrainConfig.model_validate({"output": {"kind": "echo"}, "output_tokens": 4})
    out = make_output(echo, "repeat after me please", 2)
    assert out.finish == "length" and len(out.chunks) == 2


def test_resolve_and_estimate() -> None:
    cfg = SimConfig.model_validate({"models": {"gpt-*": {"ttft_ms": 1}, "gpt-4o": {"ttft_ms": 2}}})
    assert resolve_brain(cfg, "gpt-4o").ttft_ms == 2  # type: ignore[union-attr]
    assert resolve_brain(cfg, "gpt-5").ttft_ms == 1  # type: ignore[union-attr]
    assert resolve_brain(cfg, "claude") is None
    brain = BrainConfig(chars_per_token=2.0)
    assert estimate_tokens(brain, [{"role": "user", "content": [{"type": "text", "text": "abcde"}]}]) == 3


def test_fault_engine_is_seeded_and_filtered() -> None:
    rules = [FaultRule(kind="server_error", rate=0.3, api="openai"), FaultRule(kind="hang", at=[2], model="x*")]
    first, second = FaultEngine(rules, seed=7), FaultEngine(rules, seed=7)
    picks = [first.pick("openai", "m", i) for i in range(1, 50)]
    again = [second.pick("openai", "m", i) for i in range(1, 50)]
    assert picks == again and 5 < sum(p is not None for p in picks) < 30
    engine = FaultEngine(rules, seed=7)
    assert engine.pick("ollama", "m", 1) is None
    rule = engine.pick("ollama", "xy", 2)
    assert rule is not None and rule.kind == "hang"


def test_retry_after_formats() -> None:
    assert retry_after_headers(1.2) == {"Retry-After": "2"}
    assert retry_after_headers(0.25, "ms") == {"retry-after-ms": "250"}
    assert retry_after_headers(6, "openai_reset") == {"x-ratelimit-reset-requests": "6s"}
    assert retry_after_headers(0.2, "openai_reset") == {"x-ratelimit-reset-requests": "200ms"}


async def test_client_walks_away_mid_stream(start_sim: StartSim) -> None:
    sim = await start_sim(models={"m": {"ttft_ms": 5, "itl_ms": 50, "output_tokens": 20}})
    c = track(AsyncOpenAI(base_url=sim.url + "/v1", api_key="sk-test", max_retries=0))
    stream = await c.chat.completions.create(model="m", messages=MSG, stream=True)
    async for chunk in stream:
        if chunk.choices[0].delta.content:
            break
    await stream.close()
    for _ in range(100):
        if sim.truths()[-1].end_ns is not None:
            break
        await asyncio.sleep(0.02)
    truth = sim.truths()[-1]
    assert truth.client_disconnected and truth.end_ns is not None and truth.output_tokens < 20
