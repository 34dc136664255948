"""Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Together, the simulator...).

Why this shape: the SDK's own retries are always off (ours is the only retry layer), the
clock is marked from the stream as chunks arrive (role-only chunks are not content), and
every SDK or transport exception is mapped here, once, to our closed error vocabulary,
with the key scrubbed from every message.
"""

from __future__ import annotations

import contextlib
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from harness.errors import ErrorClass, ProviderCallError, RetryDecision
from harness.providers.registry import AdapterSettings, ApiSpec, Transport, register_api
from harness.providers.sdk_errors import (
    MALFORMED_ERRORS,
    body_text,
    classify_openai_error,
    reading_stream,
)
from harness.providers.wire_timing import timed_attempt, traced_aiohttp_client
from harness.redact import Redactor
from harness.seam import (
    CallRequest,
    Capabilities,
    ProviderAPI,
    ProviderResponse,
    connection_key,
    strict_schema_ok,
)
from harness.timing import CallClock

CAPABILITIES = Capabilities(streaming=True, tools=True, reasoning=False, structured_output=True)


class OpenAICompatProvider(ProviderAPI):
    """One OpenAI-compatible endpoint and key. `api_key_env` is named in auth errors."""

    def __init__(self, provider: str, base_url: str, api_key: str | None, api_key_env: str,
                 transport: Transport = "aiohttp") -> None:
        self.provider = provider
        self.base_url = base_url
        self.api_key_env = api_key_env
        self._connection_key = connection_key(provider, api_key, base_url)
        self._redactor = Redactor([api_key] if api_key else [])
        http_client = traced_aiohttp_client() if transport == "aiohttp" else None
        self._client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key or "none",
                                          max_retries=0, http_client=http_client)
        # `client.chat` imports its modules lazily (~50 ms): pay that now, not in a TTFT
        self._completions = self._client.chat.completions

    # -- the seam -----------------------------------------------------------------------

    def capabilities(self, model: str) -> Capabilities:
        return CAPABILITIES

    def connection_key(self) -> str:
        return self._connection_key

    async def warm_up(self) -> None:
        """Open a pooled connection and run the SDK's lazy request path once, untimed.

        Best effort: GET /models is cheap and not a generation, and any failure here will
        show up, properly classified, on the first real call instead.
        """
        with contextlib.suppress(Exception):
            await self._client.models.list(timeout=5.0)

    async def aclose(self) -> None:
        await self._client.close()

    def _kwargs(self, request: CallRequest) -> dict[str, Any]:
        """The SDK call's arguments (the Responses adapter, a subclass, builds its own)."""
        kwargs: dict[str, Any] = {
            "model": request.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_tokens": request.max_tokens,
            "timeout": request.timeout_s,
        }
        if request.temperature is not None:
            kwargs["temperature"] = request.temperature
        if request.tools:
            kwargs["tools"] = request.tools
        if request.response_schema is not None:
            kwargs["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "response", "schema": request.response_schema,
                "strict": strict_schema_ok(request.response_schema)}}
        return kwargs

    async def call(self, request: CallRequest, clock: CallClock) -> ProviderResponse:
        kwargs = self._kwargs(request)
        send = self._call_streaming if request.stream else self._call_once
        return await timed_attempt(clock, lambda meta: send(kwargs, clock, meta))

    async def _call_once(self, kwargs: dict[str, Any], clock: CallClock,
                         meta: dict[str, str | None]) -> ProviderResponse:
        raw = await self._completions.with_raw_response.create(stream=False, **kwargs)
        clock.mark_first_byte()
        request_id = meta["request_id"] = raw.headers.get("x-request-id")
        try:
            completion = raw.parse()
            if not isinstance(completion, ChatCompletion) or not completion.choices:
                raise ValueError(f"not a chat completion: {body_text(completion)[:200]!r}")
            choice = completion.choices[0]
            message = choice.message
            text = message.content or ""
            tool_calls = [tc.model_dump(mode="json") for tc in (message.tool_calls or [])]
            usage = completion.usage
            reasoning = None
            if usage is not None and usage.completion_tokens_details is not None:
                reasoning = usage.completion_tokens_details.reasoning_tokens
            response = ProviderResponse(
                text=text, finish_reason=choice.finish_reason,
                input_tokens=usage.prompt_tokens if usage else None,
                output_tokens=usage.completion_tokens if usage else None,
                reasoning_tokens=reasoning, request_id=request_id or completion.id,
                tool_calls=tool_calls)
        except MALFORMED_ERRORS as exc:
            raise ProviderCallError(ErrorClass.MALFORMED_RESPONSE,
                                    f"malformed response body: {type(exc).__name__}: {exc}",
                                    status=raw.status_code) from exc
        clock.mark_content()
        return response

    async def _call_streaming(self, kwargs: dict[str, Any], clock: CallClock,
                              meta: dict[str, str | None]) -> ProviderResponse:
        stream = await self._completions.create(
            stream=True, stream_options={"include_usage": True}, **kwargs)
        clock.mark_first_byte()  # the stream object exists once the headers have arrived
        request_id: str | None = stream.response.headers.get("x-request-id")
        meta["request_id"] = request_id
        status = stream.response.status_code
        parts: list[str] = []
        tools: dict[int, dict[str, Any]] = {}
        finish_reason: str | None = None
        usage: Any = None
        chunk_id: str | None = None
        async with reading_stream(stream, status):
            async for chunk in stream:
                chunk_id = chunk_id or getattr(chunk, "id", None)
                if getattr(chunk, "usage", None) is not None:
                    usage = chunk.usage
                for choice in chunk.choices or []:  # the usage chunk has no choices
                    delta = choice.delta
                    content = delta.content if delta is not None else None
                    tool_deltas = (delta.tool_calls if delta is not None else None) or []
                    if content or tool_deltas:
                        clock.mark_content()
                    if content:
                        parts.append(content)
                    for td in tool_deltas:
                        _merge_tool_delta(tools, td)
                    if choice.finish_reason:
                        finish_reason = choice.finish_reason
        if finish_reason is None:
            raise ProviderCallError(ErrorClass.STREAM_BROKEN,
                                    "stream ended without a finish_reason", status=status)
        reasoning = None
        details = getattr(usage, "completion_tokens_details", None)
        if details is not None:
            reasoning = getattr(details, "reasoning_tokens", None)
        return ProviderResponse(
            text="".join(parts), finish_reason=finish_reason,
            input_tokens=getattr(usage, "prompt_tokens", None),
            output_tokens=getattr(usage, "completion_tokens", None),
            reasoning_tokens=reasoning, request_id=request_id or chunk_id,
            tool_calls=[tools[i] for i in sorted(tools)])

    # -- classification -----------------------------------------------------------------

    def classify(self, error: BaseException) -> RetryDecision:
        return classify_openai_error(error, self.provider, self.api_key_env, self._redactor)


def _merge_tool_delta(tools: dict[int, dict[str, Any]], delta: Any) -> None:
    """Assemble streamed tool calls: id/name arrive once, arguments arrive in pieces."""
    index = int(getattr(delta, "index", 0) or 0)
    call = tools.setdefault(index, {"id": None, "type": "function",
                                    "function": {"name": "", "arguments": ""}})
    if getattr(delta, "id", None):
        call["id"] = delta.id
    fn = getattr(delta, "function", None)
    if fn is not None:
        if getattr(fn, "name", None):
            call["function"]["name"] += fn.name
        if getattr(fn, "arguments", None):
            call["function"]["arguments"] += fn.arguments


async def list_models(base_url: str | None, api_key: str | None, timeout: float) -> list[str]:
    """The IDs `GET /models` lists (paged by the SDK), without retries."""
    client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key or "none", max_retries=0, timeout=timeout)
    try:
        return [m.id async for m in client.models.list()]
    finally:
        await client.close()


def build(name: str, base_url: str | None, api_key: str | None, settings: AdapterSettings) -> ProviderAPI:
    assert base_url is not None  # resolution refuses a chat provider without an endpoint
    return OpenAICompatProvider(name, base_url, api_key, settings.api_key_env or "", transport=settings.transport)


register_api(ApiSpec(kind="chat", build=build, capabilities=CAPABILITIES, list_models=list_models,
                     base_path="/v1"))
