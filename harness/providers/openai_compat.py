"""Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Together, the simulator...).

Why this shape: the SDK's own retries are always off (ours is the only retry layer), the
clock is marked from the stream as chunks arrive (role-only chunks are not content), and
every SDK or transport exception is mapped here, once, to our closed error vocabulary,
with the key scrubbed from every message. Over aiohttp, streams are read by our own SSE
reader (`sse`: ~0.5 ms client CPU a 64-token call against the SDK reader's ~6.5 ms, see
docs/stream_cpu.md), which raises the SDK's own exceptions, so classification is shared.
"""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec
import openai
from openai.types.chat import ChatCompletion

from harness.errors import ErrorClass, ProviderCallError, RetryDecision
from harness.providers.registry import AdapterSettings, ApiSpec, StreamReader, Transport, register_api
from harness.providers.sdk_errors import (
    MALFORMED_ERRORS,
    body_text,
    classify_openai_error,
    error_message,
    reading_stream,
)
from harness.providers.sse import encode, post_stream, reading_events, stream_headers
from harness.providers.wire_timing import SharedSession, timed_attempt, traced_aiohttp_client
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
                 transport: Transport = "aiohttp", stream_reader: StreamReader = "sse") -> None:
        self.provider = provider
        self.base_url = base_url
        self.api_key_env = api_key_env
        self._connection_key = connection_key(provider, api_key, base_url)
        self._redactor = Redactor([api_key] if api_key else [])
        # aiohttp: the SDK's transport and our own SSE reader share one traced session
        self._session = SharedSession() if transport == "aiohttp" else None
        http_client = traced_aiohttp_client(session=self._session) if self._session is not None else None
        self._chat_url = base_url.rstrip("/") + "/chat/completions"
        self._client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key or "none",
                                          max_retries=0, http_client=http_client)
        # `client.chat` imports its modules lazily (~50 ms): pay that now, not in a TTFT
        self._completions = self._client.chat.completions
        self._sse_headers = stream_headers(self._client)
        self._own_reader = self._session is not None and stream_reader == "sse"

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
        if self._session is not None:
            await self._session.aclose()

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
        if self._own_reader:
            return await self._stream_sse(kwargs, clock, meta)
        stream = await self._completions.create(
            stream=True, stream_options={"include_usage": True}, **kwargs)
        clock.mark_first_byte()  # the stream object exists once the headers have arrived
        request_id: str | None = stream.response.headers.get("x-request-id")
        meta["request_id"] = request_id
        status = stream.response.status_code
        acc = ChatStream()
        async with reading_stream(stream, status):
            async for chunk in stream:
                if acc.feed(chunk):
                    clock.mark_content()
        return acc.response(request_id, status)

    async def _stream_sse(self, kwargs: dict[str, Any], clock: CallClock,
                          meta: dict[str, str | None]) -> ProviderResponse:
        """The same request read off aiohttp by `sse` (the SDK's per-chunk models cost
        about half of a call's CPU); failures are the SDK's exceptions, as above."""
        assert self._session is not None
        body = {k: v for k, v in kwargs.items() if k != "timeout"}
        body.update(stream=True, stream_options={"include_usage": True})
        response = await post_stream(self._session, self._client, openai, self._chat_url, encode(body),
                                     self._sse_headers, kwargs["timeout"], connection_error_is_timeout=True)
        clock.mark_first_byte()
        request_id = meta["request_id"] = response.headers.get("x-request-id")
        status = response.status
        acc = ChatStream()
        async with reading_events(response, status) as events:
            async for _event, data in events:
                if acc.done:
                    continue  # read to the end, as the SDK does, so the connection is reused
                if data.startswith(b"[DONE]"):
                    acc.done = True
                    continue
                chunk = _decode_chunk(data)
                if chunk.error:
                    raise ProviderCallError(ErrorClass.SERVER_ERROR,
                                            f"error event mid-stream: {error_message(chunk.error)}", status=status)
                if acc.feed(chunk):
                    clock.mark_content()
        return acc.response(request_id, status)

    # -- classification -----------------------------------------------------------------

    def classify(self, error: BaseException) -> RetryDecision:
        return classify_openai_error(error, self.provider, self.api_key_env, self._redactor)


class ChatStream:
    """What a chat stream's chunks say so far. Reads SDK chunk objects and our msgspec
    `_Chunk`s alike (same field names), so both read paths share it."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.tools: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        self.usage: Any = None
        self.chunk_id: str | None = None
        self.done = False

    def feed(self, chunk: Any) -> bool:
        """Take one chunk; True when it carried content (text or tool-call pieces)."""
        self.chunk_id = self.chunk_id or chunk.id
        if chunk.usage is not None:
            self.usage = chunk.usage
        seen = False
        for choice in chunk.choices or []:  # the usage chunk has no choices
            delta = choice.delta
            content = delta.content if delta is not None else None
            tool_deltas = (delta.tool_calls if delta is not None else None) or []
            if content or tool_deltas:
                seen = True
            if content:
                self.parts.append(content)
            for td in tool_deltas:
                _merge_tool_delta(self.tools, td)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        return seen

    def response(self, request_id: str | None, status: int) -> ProviderResponse:
        if self.finish_reason is None:
            raise ProviderCallError(ErrorClass.STREAM_BROKEN,
                                    "stream ended without a finish_reason", status=status)
        usage = self.usage
        details = getattr(usage, "completion_tokens_details", None)
        return ProviderResponse(
            text="".join(self.parts), finish_reason=self.finish_reason,
            input_tokens=getattr(usage, "prompt_tokens", None),
            output_tokens=getattr(usage, "completion_tokens", None),
            reasoning_tokens=getattr(details, "reasoning_tokens", None) if details is not None else None,
            request_id=request_id or self.chunk_id, tool_calls=[self.tools[i] for i in sorted(self.tools)])


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


# The few fields of a chat chunk we read (msgspec ignores the rest; unknown shapes fail as
# malformed, as a chunk the SDK cannot read would).
class _ToolFunction(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class _ToolDelta(msgspec.Struct):
    index: int = 0
    id: str | None = None
    function: _ToolFunction | None = None


class _Delta(msgspec.Struct):
    content: str | None = None
    tool_calls: list[_ToolDelta] | None = None


class _Choice(msgspec.Struct):
    delta: _Delta | None = None
    finish_reason: str | None = None


class _Details(msgspec.Struct):
    reasoning_tokens: int | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    completion_tokens_details: _Details | None = None


class _Chunk(msgspec.Struct):
    id: str | None = None
    choices: list[_Choice] | None = None
    usage: _Usage | None = None
    error: Any = None  # an error payload inside the stream (the SDK raises APIError for it)


_decode_chunk = msgspec.json.Decoder(_Chunk).decode


async def list_models(base_url: str | None, api_key: str | None, timeout: float) -> list[str]:
    """The IDs `GET /models` lists (paged by the SDK), without retries."""
    client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key or "none", max_retries=0, timeout=timeout)
    try:
        return [m.id async for m in client.models.list()]
    finally:
        await client.close()


def build(name: str, base_url: str | None, api_key: str | None, settings: AdapterSettings) -> ProviderAPI:
    assert base_url is not None  # resolution refuses a chat provider without an endpoint
    return OpenAICompatProvider(name, base_url, api_key, settings.api_key_env or "", transport=settings.transport,
                                stream_reader=settings.stream_reader)


register_api(ApiSpec(kind="chat", build=build, capabilities=CAPABILITIES, list_models=list_models,
                     base_path="/v1"))
