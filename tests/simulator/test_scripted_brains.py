"""Scripted failures over real HTTP: JSON that drifts as the prompt grows, refusals, and a
model whose answers cycle through fixed choices (an inconsistent judge)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from anthropic import AsyncAnthropic
from ollama import AsyncClient
from openai import AsyncOpenAI

from simulator.brains_scripted import BROKEN_PREFIX, FENCE_PREFIX, drift_stage
from simulator.config import REFUSAL_TEXT, OutputSpec, load_sim_config
from suites import SUITES_DIR
from tests.simulator._helpers import track
from tests.simulator.conftest import StartSim

TEMPLATE = {"route": "billing", "confidence": 0.9}
# chars_per_token 4 (default): a prompt of 4 * n characters is estimated at n tokens
DRIFT: dict[str, Any] = {"ttft_ms": 2, "itl_ms": 0, "output_tokens": 64,
                         "output": {"kind": "drift", "json_template": TEMPLATE,
                                    "drift_clean_below": 1000, "drift_broken_above": 4000}}
TOOLS: Any = [{"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


def openai_client(url: str) -> AsyncOpenAI:
    return track(AsyncOpenAI(base_url=url + "/v1", api_key="sk-test", max_retries=0))


def user(tokens: int) -> Any:
    return [{"role": "user", "content": "x" * (4 * tokens)}]


async def test_drift_decays_with_prompt_size_in_both_stream_and_json(start_sim: StartSim) -> None:
    sim = await start_sim(models={"drifter": DRIFT})
    c = openai_client(sim.url)
    texts: dict[int, str] = {}
    for tokens in (999, 1000, 4000, 4001):
        full = await c.chat.completions.create(model="drifter", messages=user(tokens))
        assert full.usage is not None and full.usage.prompt_tokens == tokens
        assert full.choices[0].finish_reason == "stop"
        texts[tokens] = full.choices[0].message.content or ""
        stream = await c.chat.completions.create(model="drifter", messages=user(tokens), stream=True)
        streamed = "".join([ch.choices[0].delta.content or "" async for ch in stream if ch.choices])
        assert streamed == texts[tokens]  # same decay whether streamed or not
    assert json.loads(texts[999]) == TEMPLATE  # clean: bare JSON only
    for fenced in (texts[1000], texts[4000]):  # thresholds inclusive on the fenced side
        assert fenced.startswith(FENCE_PREFIX) and fenced.endswith("```")
        with pytest.raises(json.JSONDecodeError):
            json.loads(fenced)
        assert json.loads(fenced.removeprefix(FENCE_PREFIX).removesuffix("```")) == TEMPLATE
    broken = texts[4001]
    assert broken.startswith(BROKEN_PREFIX) and "```" not in broken
    body = broken.removeprefix(BROKEN_PREFIX)
    assert json.dumps(TEMPLATE).startswith(body) and len(body) < len(json.dumps(TEMPLATE))
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)  # the JSON itself is cut, not just wrapped


async def test_drift_counts_system_prompt_and_tools_not_just_the_user_turn(start_sim: StartSim) -> None:
    """A short question behind a long system prompt drifts too: the simulator's estimate
    covers the whole input, as a provider's context does."""
    sim = await start_sim(models={"drifter": DRIFT})
    c = track(AsyncAnthropic(base_url=sim.url, api_key="sk-ant-test", max_retries=0))
    short = await c.messages.create(model="drifter", max_tokens=200, messages=user(10))
    long_system = await c.messages.create(model="drifter", max_tokens=200, messages=user(10),
                                          system="y" * (4 * 2000))
    assert short.content[0].type == "text" and json.loads(short.content[0].text) == TEMPLATE
    assert long_system.content[0].type == "text" and long_system.content[0].text.startswith(FENCE_PREFIX)
    assert long_system.usage.input_tokens == 2010
    assert [t.input_tokens for t in sim.truths()] == [10, 2010]


async def test_refusal_answers_in_text_and_calls_no_tool(start_sim: StartSim) -> None:
    sim = await start_sim(models={"refuser": {"ttft_ms": 2, "itl_ms": 0, "output": {"kind": "refusal"}}})
    full = await openai_client(sim.url).chat.completions.create(
        model="refuser", messages=[{"role": "user", "content": "Weather in Paris?"}], tools=TOOLS)
    message = full.choices[0].message
    assert message.content == REFUSAL_TEXT and not message.tool_calls
    assert full.choices[0].finish_reason == "stop"
    ollama_reply = await track(AsyncClient(host=sim.url)).chat(
        model="refuser", messages=[{"role": "user", "content": "Weather in Paris?"}], tools=TOOLS)
    assert ollama_reply.message.content == REFUSAL_TEXT and not ollama_reply.message.tool_calls


async def test_choices_cycle_per_model_and_rejected_requests_use_a_number(start_sim: StartSim) -> None:
    brain = {"ttft_ms": 1, "itl_ms": 0, "output": {"kind": "choices", "choices": ["good", "bad", "unsure"]}}
    sim = await start_sim(models={"judge": brain, "other": brain},
                          faults=[{"kind": "server_error", "model": "other", "at": [2]}])
    c = openai_client(sim.url)

    async def ask(model: str) -> str | None:
        try:
            full = await c.chat.completions.create(model=model, messages=user(3))
        except Exception:  # noqa: BLE001 (the injected 500; only its sequence number matters)
            return None
        return full.choices[0].message.content

    assert [await ask("judge") for _ in range(4)] == ["good", "bad", "unsure", "good"]
    # its own counter; the 2nd request failed before an answer, so the 3rd gets choice 3
    assert [await ask("other") for _ in range(3)] == ["good", None, "unsure"]
    sim.reset()  # a reset restarts the cycle, as it restarts fault `at` numbers
    assert await ask("judge") == "good"


async def test_default_config_scripted_models_fail_as_documented(start_sim: StartSim) -> None:
    """The stand-ins in suites/simulator.yaml, for trying a phase by hand, do what their
    comments promise (and the config still loads with them)."""
    sim = await start_sim(load_sim_config(SUITES_DIR / "simulator.yaml"))
    c = openai_client(sim.url)
    ask: Any = [{"role": "user", "content": "Weather in Paris?"}]
    short = await c.chat.completions.create(model="json-drift-sim", messages=user(2000))
    long = await c.chat.completions.create(model="json-drift-sim", messages=user(20000))
    assert json.loads(short.choices[0].message.content or "") == TEMPLATE
    assert (long.choices[0].message.content or "").startswith(BROKEN_PREFIX)
    inventor = await c.chat.completions.create(model="tool-inventor-sim", messages=ask, tools=TOOLS)
    calls = inventor.choices[0].message.tool_calls or []
    assert [call.function.name for call in calls] == ["run_shell_command"]  # type: ignore[union-attr]
    refuser = await c.chat.completions.create(model="tool-refuser-sim", messages=ask, tools=TOOLS)
    assert refuser.choices[0].message.content == REFUSAL_TEXT and not refuser.choices[0].message.tool_calls
    await c.chat.completions.create(model="slow-start-sim", messages=ask)
    slow = sim.truths()[-1]
    assert slow.ttft_ms is not None and slow.ttft_ms >= 900


def test_drift_stage_boundaries() -> None:
    spec = OutputSpec(kind="drift", drift_clean_below=100, drift_broken_above=100)
    assert [drift_stage(spec, n) for n in (99, 100, 101)] == ["clean", "fenced", "broken"]
    default = OutputSpec(kind="drift")  # defaults sized for the long-context 2k/8k/32k lengths
    assert [drift_stage(default, n) for n in (2600, 10000, 40000)] == ["clean", "fenced", "broken"]


@pytest.mark.parametrize(("output", "field"), [
    ({"kind": "choices"}, "choices"),
    ({"kind": "choices", "choices": []}, "choices"),
    ({"kind": "drift", "drift_clean_below": 500, "drift_broken_above": 100}, "drift_broken_above"),
    ({"kind": "refusal", "refusal_text": ""}, "refusal_text"),
    ({"kind": "drifting"}, "kind"),
])
def test_bad_scripted_output_is_refused_naming_the_field(tmp_path: Path, output: dict[str, Any],
                                                         field: str) -> None:
    path = tmp_path / "sim.yaml"
    path.write_text(json.dumps({"models": {"m": {"output": output}}}), encoding="utf-8")
    with pytest.raises(ValueError, match="invalid simulator config") as info:
        load_sim_config(path)
    message = str(info.value)
    assert str(path) in message and "models.m.output" in message and field in message
