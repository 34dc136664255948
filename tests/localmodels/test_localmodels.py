"""Real GGUF models behind `python -m localmodels`, spoken to with the real ollama client
and through the OllamaProvider adapter over real HTTP. Generations are kept to 16 tokens."""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import ollama
import pytest

from harness.call import execute_call
from harness.local_limiters import UnlimitedLimiter
from harness.providers.ollama_chat import OllamaProvider
from harness.retry import RetryPolicy
from harness.seam import CallRequest, Message
from localmodels.engine import Final, Piece, Started, StopMatcher, render_base_prompt
from localmodels.registry import MODELS, lookup

ROOT = Path(__file__).resolve().parents[2]
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
SHORT = {"num_predict": 16, "temperature": 0.0}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, "-m", "localmodels", "--port", "0"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("OLLAMA_URL=http://127.0.0.1:"), line
        yield line.split("=", 1)[1]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0  # SIGTERM is a clean stop


# -- pure pieces (no model) ------------------------------------------------------------

def test_stop_matcher_holds_back_a_possible_stop() -> None:
    m = StopMatcher(("\nQuestion:",))
    assert m.feed(" Paris") == (" Paris", False)
    assert m.feed("\nQue") == ("", False)  # might be the stop: held back
    assert m.feed("stion: x") == ("", True)
    m2 = StopMatcher(("\nQuestion:",))
    assert m2.feed("a\nQ") == ("a", False)
    assert m2.feed("uite") == ("\nQuite", False)
    assert m2.flush() == ""


def test_base_prompt_and_registry() -> None:
    text = render_base_prompt([{"role": "system", "content": "Be brief."}, *QUESTION])
    assert text == "Be brief.\n\nQuestion: What is the capital of France?\nAnswer:"
    assert lookup("smollm2-135m:latest") is MODELS["smollm2-135m"]
    assert lookup("gemma3-270m") is MODELS["gemma3-270m"] and lookup("gemma3-270m:7b") is None
    assert all(spec.n_threads == 2 for spec in MODELS.values())


# -- over HTTP -------------------------------------------------------------------------

async def test_tags_version_and_unknown_model(server: str) -> None:
    client = ollama.AsyncClient(host=server)
    names = [m.model for m in (await client.list()).models]
    assert names == ["smollm2-135m:latest", "gemma3-270m:latest"]
    with pytest.raises(ollama.ResponseError) as info:
        await client.chat(model="llama9", messages=QUESTION)
    assert info.value.status_code == 404 and "not found" in info.value.error


@pytest.mark.slow
@pytest.mark.parametrize("model", ["smollm2-135m", "gemma3-270m"])
async def test_chat_non_streaming_real_counts(server: str, model: str) -> None:
    client = ollama.AsyncClient(host=server)
    r = await client.chat(model=model, messages=QUESTION, stream=False, options=SHORT)
    assert r.done and r.message.content and r.message.content.strip()
    assert r.prompt_eval_count is not None and r.prompt_eval_count >= 8  # the real tokenizer's count
    assert r.eval_count is not None and 1 <= r.eval_count <= 16
    assert r.done_reason in ("stop", "length")
    if model == "gemma3-270m":  # a base model, prompted as Q/A completion
        assert "paris" in r.message.content.lower()
        assert "Question:" not in r.message.content  # the default stop cut it there


@pytest.mark.slow
@pytest.mark.parametrize("model", ["smollm2-135m", "gemma3-270m"])
async def test_chat_streaming_one_token_per_line(server: str, model: str) -> None:
    client = ollama.AsyncClient(host=server)
    parts = [p async for p in await client.chat(model=model, messages=[
        {"role": "user", "content": "Tell me a story about a dragon."}], stream=True,
        options={"num_predict": 16, "temperature": 0.0, "stop": []})]
    final = parts[-1]
    assert final.done and final.eval_count is not None and final.eval_count >= 1
    content = [p.message.content or "" for p in parts[:-1]]
    assert all(content) and "".join(content).strip()
    assert len(content) <= final.eval_count  # never more lines than tokens
    if final.done_reason == "length":
        assert final.eval_count == 16


@pytest.mark.slow
async def test_generate_ps_and_context_overflow(server: str) -> None:
    client = ollama.AsyncClient(host=server)
    r = await client.generate(model="gemma3-270m", prompt="The capital of France is", options=SHORT)
    assert r.done and r.response and r.eval_count
    loaded = [m.model for m in (await client.ps()).models]
    assert "gemma3-270m:latest" in loaded
    with pytest.raises(ollama.ResponseError) as info:
        await client.chat(model="smollm2-135m", messages=[{"role": "user", "content": "word " * 9000}])
    assert info.value.status_code == 400 and "context length (8192)" in info.value.error


@pytest.mark.slow
@pytest.mark.parametrize("model", ["smollm2-135m", "gemma3-270m"])
@pytest.mark.parametrize("stream", [True, False])
async def test_provider_through_execute_call(server: str, model: str, stream: bool) -> None:
    api = OllamaProvider("local", server)
    try:
        await api.warm_up()
        request = CallRequest(model=model, messages=[Message(role="user", content="Name three colours.")],
                              max_tokens=16, stream=stream, timeout_s=60)
        t0 = time.monotonic()
        outcome = await execute_call(api, request, UnlimitedLimiter(), RetryPolicy(max_attempts=1),
                                     holder="t", rng=random.Random(0))
        wall_ms = (time.monotonic() - t0) * 1000
    finally:
        await api.aclose()
    assert outcome.status == "ok", outcome.error_message
    assert outcome.response is not None and outcome.response.text
    assert outcome.response.output_tokens is not None and 1 <= outcome.response.output_tokens <= 16
    assert outcome.response.input_tokens is not None and outcome.response.input_tokens > 0
    assert outcome.ttft_ms is not None and outcome.e2e_ms is not None
    assert 0 < outcome.ttft_ms <= outcome.e2e_ms <= wall_ms


@pytest.mark.slow
async def test_over_context_is_context_overflow_via_provider(server: str) -> None:
    api = OllamaProvider("local", server)
    try:
        request = CallRequest(model="smollm2-135m", messages=[Message(role="user", content="word " * 9000)],
                              max_tokens=16)
        outcome = await execute_call(api, request, UnlimitedLimiter(), RetryPolicy(max_attempts=3),
                                     holder="t", rng=random.Random(0))
    finally:
        await api.aclose()
    assert outcome.status == "error" and outcome.error_class == "context_overflow" and outcome.attempts == 1


VERDICT_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["score", "verdict"],
                  "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 10},
                                 "verdict": {"type": "string", "enum": ["good", "bad"]}}}


@pytest.mark.slow
@pytest.mark.parametrize("model", ["smollm2-135m", "gemma3-270m"])
@pytest.mark.parametrize("stream", [True, False])
async def test_response_schema_constrains_the_embedded_models(server: str, model: str, stream: bool) -> None:
    """Ollama's `format` becomes a llama.cpp grammar: even a 135M model answers in the shape."""
    import json

    api = OllamaProvider("local", server)
    prompt = "Is 'Paris' a correct answer to 'What is the capital of France?' Rate it."
    try:
        request = CallRequest(model=model, messages=[Message(role="user", content=prompt)], max_tokens=48,
                              stream=stream, timeout_s=60, response_schema=VERDICT_SCHEMA)
        outcome = await execute_call(api, request, UnlimitedLimiter(), RetryPolicy(max_attempts=1),
                                     holder="t", rng=random.Random(0))
    finally:
        await api.aclose()
    assert outcome.status == "ok" and outcome.response is not None, outcome.error_message
    reply = json.loads(outcome.response.text)
    assert set(reply) == {"score", "verdict"} and reply["verdict"] in ("good", "bad")
    assert isinstance(reply["score"], int)


@pytest.mark.slow
async def test_bad_format_is_a_400(server: str) -> None:
    """The ollama client refuses such a format itself, so this goes over raw HTTP."""
    import aiohttp

    body = {"model": "smollm2-135m", "messages": QUESTION, "format": ["not", "a", "schema"],
            "options": SHORT, "stream": False}
    async with aiohttp.ClientSession() as session, session.post(f"{server}/api/chat", json=body) as resp:
        assert resp.status == 400
        assert "format" in (await resp.json())["error"]


class _ScriptedEngine:
    """Stands in for llama.cpp: the server's streaming code is what is under test here."""

    async def generate(self, spec: object, options: object, **_: object) -> AsyncIterator[object]:
        yield Started(prompt_tokens=3)
        for word in ("Paris", " is", " the", " capital."):
            yield Piece(word)
        yield Final(prompt_tokens=3, output_tokens=4, done_reason="stop", load_ns=0, prompt_eval_ns=1,
                    eval_ns=1, total_ns=2)

    def close(self) -> None:
        pass


@pytest.mark.parametrize("breaks", ["write", "write_eof"])
async def test_a_client_hanging_up_mid_stream_is_not_an_error(
        breaks: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The ollama client may close the connection as soon as it has the `done` line; the server
    must end that response quietly (no "Error handling request" traceback in the user's
    terminal) and keep serving. The hang-up is forced at the write that would notice it."""
    from aiohttp import ClientSession, web
    from aiohttp.client_exceptions import ClientConnectionResetError
    from aiohttp.test_utils import TestServer

    from localmodels.server import make_app

    original = getattr(web.StreamResponse, breaks)
    hung_up = {"done": False}

    async def hang_up(self: web.StreamResponse, *args: object) -> None:
        if not hung_up["done"]:
            hung_up["done"] = True
            raise ClientConnectionResetError("Cannot write to closing transport")
        await original(self, *args)

    server = TestServer(make_app(_ScriptedEngine()))  # type: ignore[arg-type]
    await server.start_server()
    try:
        monkeypatch.setattr(web.StreamResponse, breaks, hang_up)
        body = {"model": "smollm2-135m", "stream": True, "messages": QUESTION}
        async with ClientSession() as session:
            try:
                async with session.post(server.make_url("/api/chat"), json=body) as resp:
                    await resp.read()
            except Exception:  # noqa: BLE001, S110 - this client is the one that "hung up"
                pass
            monkeypatch.undo()
            async with session.post(server.make_url("/api/chat"), json=body) as resp:
                lines = (await resp.read()).decode().splitlines()
    finally:
        await server.close()
    assert hung_up["done"] and len(lines) == 5 and '"done": true' in lines[-1].replace('":true', '": true')
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
