"""`CallRequest.response_schema` reaches each provider in its own native form, over HTTP.

Why a capturing server: the simulator does not constrain output, so what matters here is
the exact body the real SDK puts on the wire (strict only when the schema allows it).
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from harness.call import execute_call
from harness.local_limiters import UnlimitedLimiter
from harness.providers.anthropic_messages import AnthropicProvider
from harness.providers.openai_compat import OpenAICompatProvider
from harness.providers.openai_responses import OpenAIResponsesProvider
from harness.retry import RetryPolicy
from harness.seam import CallRequest, Message, ProviderAPI, strict_schema_ok

STRICT = {"type": "object", "additionalProperties": False, "required": ["verdict"],
          "properties": {"verdict": {"type": "string", "enum": ["good", "bad"]}}}
LOOSE = {"type": "object", "required": ["verdict"],
         "properties": {"verdict": {"type": "string"}, "reasoning": {"type": "string"}}}


@pytest.fixture
async def capture() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    bodies: list[dict[str, Any]] = []

    async def handler(request: web.Request) -> web.Response:
        bodies.append(await request.json())
        return web.json_response({"error": {"type": "invalid_request_error", "message": "captured"}}, status=400)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", bodies
    finally:
        await runner.cleanup()


async def _send(api: ProviderAPI, schema: dict[str, Any] | None) -> None:
    request = CallRequest(model="m", messages=[Message(role="user", content="judge this")], stream=False,
                          timeout_s=10, response_schema=schema)
    try:
        outcome = await execute_call(api, request, UnlimitedLimiter(), RetryPolicy(max_attempts=1),
                                     holder="t", rng=random.Random(0))
    finally:
        await api.aclose()
    assert outcome.status == "error" and outcome.error_class == "bad_request"


def test_strict_only_when_every_property_is_required() -> None:
    assert strict_schema_ok(STRICT) and not strict_schema_ok(LOOSE)


@pytest.mark.parametrize("schema, strict", [(STRICT, True), (LOOSE, False)])
async def test_chat_completions_sends_json_schema_response_format(
        capture: tuple[str, list[dict[str, Any]]], schema: dict[str, Any], strict: bool) -> None:
    url, bodies = capture
    await _send(OpenAICompatProvider("openai", f"{url}/v1", "sk-test-000", "OPENAI_API_KEY"), schema)
    assert bodies[0]["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "response", "schema": json.loads(json.dumps(schema)), "strict": strict}}


async def test_responses_sends_text_format(capture: tuple[str, list[dict[str, Any]]]) -> None:
    url, bodies = capture
    await _send(OpenAIResponsesProvider("openai", f"{url}/v1", "sk-test-000", "OPENAI_API_KEY"), STRICT)
    assert bodies[0]["text"] == {"format": {"type": "json_schema", "name": "response", "schema": STRICT,
                                            "strict": True}}


async def test_no_schema_sends_no_format_and_anthropic_leaves_it_to_the_prompt(
        capture: tuple[str, list[dict[str, Any]]]) -> None:
    url, bodies = capture
    await _send(OpenAICompatProvider("openai", f"{url}/v1", "sk-test-000", "OPENAI_API_KEY"), None)
    anthropic = AnthropicProvider("anthropic", url, "sk-ant-test-000", "ANTHROPIC_API_KEY")
    assert not anthropic.capabilities("claude").structured_output
    await _send(anthropic, STRICT)
    assert "response_format" not in bodies[0]
    assert not {"response_format", "text", "format", "output_format"} & set(bodies[1])
