"""OpenAI Responses API (`POST /v1/responses`): the API of the Codex models, with reasoning effort.

Why a separate adapter from `openai_compat`: the Responses stream is a typed event sequence
whose only success marker is `response.completed` (usage and reasoning tokens ride on it),
and failure can arrive *inside* a 200 stream as `response.failed` / `error` events. The
SDK-level concerns are identical to the chat adapter and shared with it: SDK retries off,
aiohttp transport with send-time tracing, one classifier (`sdk_errors`), key scrubbed.

Decisions:
- `request.variant` in low/medium/high becomes `reasoning={"effort": variant}`; other
  variants are not sent (they name something else, e.g. a prompt variant).
- TTFT is the first `response.output_text.delta` (or function-call argument delta); the
  reasoning item and other bookkeeping events are not content. The reasoning item's
  opening and closing, and any reasoning text or summary deltas, are marked on the clock
  apart: the first token of any kind and the reasoning's duration (`CallTiming`).
- `response.incomplete` for `max_output_tokens` is a success with `finish_reason="length"`,
  exactly as the chat adapter treats `finish_reason="length"`, so the APIs compare fairly;
  any other incomplete reason (content filter) is a non-retried `bad_request`.
- `output_tokens` is the *visible* output (OpenAI's `output_tokens` minus reasoning) and
  `reasoning_tokens` the hidden part, so `catalogue.cost_usd` bills `output + reasoning`.
- Temperature is not sent to reasoning models (gpt-5*, o*, *codex*), which reject it.
"""

from __future__ import annotations

from typing import Any

import msgspec
import openai
from openai.types.responses import Response

from harness.errors import ErrorClass, ProviderCallError
from harness.providers.openai_compat import OpenAICompatProvider, list_models
from harness.providers.registry import AdapterSettings, ApiSpec, StreamReader, Transport, register_api
from harness.providers.sdk_errors import (
    MALFORMED_ERRORS,
    body_text,
    reading_stream,
)
from harness.providers.sse import encode, post_stream, reading_events
from harness.seam import CallRequest, Capabilities, ProviderAPI, ProviderResponse, strict_schema_ok
from harness.timing import CallClock

CAPABILITIES = Capabilities(streaming=True, tools=True, reasoning=True, structured_output=True)
EFFORTS = frozenset({"low", "medium", "high"})
_NO_TEMPERATURE_PREFIXES = ("gpt-5", "o1", "o3", "o4")
_CONTENT_EVENTS = frozenset({"response.output_text.delta", "response.function_call_arguments.delta"})
_REASONING_DELTAS = frozenset({"response.reasoning_text.delta", "response.reasoning_summary_text.delta"})
_ITEM_EVENTS = frozenset({"response.output_item.added", "response.output_item.done"})
# `response.failed` / `error` event codes -> our classes (unlisted codes: bad_request, not retried)
_EVENT_CODES = {
    "server_error": ErrorClass.SERVER_ERROR,
    "rate_limit_exceeded": ErrorClass.RATE_LIMITED,
    "insufficient_quota": ErrorClass.QUOTA_EXHAUSTED,
    "vector_store_timeout": ErrorClass.TIMEOUT,
    "context_length_exceeded": ErrorClass.CONTEXT_OVERFLOW,
}


def _rejects_temperature(model: str) -> bool:
    return model.startswith(_NO_TEMPERATURE_PREFIXES) or "codex" in model


def _responses_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """Chat-style `{"type":"function","function":{...}}` tools flattened to the Responses shape."""
    fn = tool.get("function")
    if tool.get("type") == "function" and isinstance(fn, dict):
        return {"type": "function", **fn}
    return tool


def event_error(code: str | None, message: str, status: int | None) -> ProviderCallError:
    """A failure reported inside a 200 response (`response.failed`, an `error` event)."""
    cls = _EVENT_CODES.get(code or "", ErrorClass.BAD_REQUEST if code else ErrorClass.SERVER_ERROR)
    return ProviderCallError(cls, f"response failed ({code or 'no code'}): {message}", status=status)


def build_response(final: Any, text: str | None, request_id: str | None,
                   status: int | None) -> ProviderResponse:
    """Turn a terminal response (the SDK's `Response` or our `_Response`: the same field
    names) into ours; raise for failed / non-length incomplete ones."""
    if final.status == "failed" or final.error is not None:
        err = final.error
        raise event_error(err.code if err else None, err.message if err else "no error detail", status)
    finish = "stop"
    if final.status == "incomplete":
        reason = final.incomplete_details.reason if final.incomplete_details else None
        if reason != "max_output_tokens":
            raise ProviderCallError(ErrorClass.BAD_REQUEST, f"response incomplete: {reason}", status=status)
        finish = "length"
    elif final.status not in (None, "completed"):
        raise ProviderCallError(ErrorClass.STREAM_BROKEN, f"response ended as {final.status}", status=status)
    tool_calls = [
        {"id": item.call_id, "type": "function", "function": {"name": item.name, "arguments": item.arguments}}
        for item in final.output if item.type == "function_call"
    ]
    if tool_calls and finish == "stop":
        finish = "tool_calls"
    usage = final.usage
    reasoning = usage.output_tokens_details.reasoning_tokens if usage is not None else None
    visible = usage.output_tokens - (reasoning or 0) if usage is not None else None
    return ProviderResponse(
        text=text if text else final.output_text, finish_reason=finish,
        input_tokens=usage.input_tokens if usage is not None else None, output_tokens=visible,
        reasoning_tokens=reasoning, request_id=request_id or final.id, tool_calls=tool_calls)


class OpenAIResponsesProvider(OpenAICompatProvider):
    """One Responses-API endpoint and key (same constructor as the chat adapter).

    A subclass because everything but the request and response shapes is the chat
    adapter's: client set-up, limiter identity, warm-up, classification, the call wrapper.
    """

    def __init__(self, provider: str, base_url: str, api_key: str | None, api_key_env: str,
                 transport: Transport = "aiohttp", stream_reader: StreamReader = "sse") -> None:
        super().__init__(provider, base_url, api_key, api_key_env, transport, stream_reader)
        # `client.responses` imports its modules lazily: pay that now, not inside a TTFT
        self._responses = self._client.responses
        self._responses_url = base_url.rstrip("/") + "/responses"

    def capabilities(self, model: str) -> Capabilities:
        return CAPABILITIES

    def _kwargs(self, request: CallRequest) -> dict[str, Any]:
        system = [m.content for m in request.messages if m.role == "system"]
        kwargs: dict[str, Any] = {
            "model": request.model,
            "input": [{"role": m.role, "content": m.content} for m in request.messages if m.role != "system"],
            "max_output_tokens": request.max_tokens,
            "timeout": request.timeout_s,
        }
        if system:
            kwargs["instructions"] = "\n\n".join(system)
        if request.variant in EFFORTS:
            kwargs["reasoning"] = {"effort": request.variant}
        if request.temperature is not None and not _rejects_temperature(request.model) \
                and "reasoning" not in kwargs:
            kwargs["temperature"] = request.temperature
        if request.tools:
            kwargs["tools"] = [_responses_tool(t) for t in request.tools]
        if request.response_schema is not None:
            kwargs["text"] = {"format": {"type": "json_schema", "name": "response",
                                         "schema": request.response_schema,
                                         "strict": strict_schema_ok(request.response_schema)}}
        return kwargs

    async def _call_once(self, kwargs: dict[str, Any], clock: CallClock,
                         meta: dict[str, str | None]) -> ProviderResponse:
        raw = await self._responses.with_raw_response.create(stream=False, **kwargs)
        clock.mark_first_byte()
        request_id = meta["request_id"] = raw.headers.get("x-request-id")
        try:
            final = raw.parse()
            if not isinstance(final, Response):
                raise ValueError(f"not a response object: {body_text(final)[:200]!r}")  # noqa: TRY004 - caught below
            response = build_response(final, None, request_id, raw.status_code)
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
        stream = await self._responses.create(stream=True, **kwargs)
        clock.mark_first_byte()  # the stream object exists once the headers have arrived
        request_id: str | None = stream.response.headers.get("x-request-id")
        meta["request_id"] = request_id
        status = stream.response.status_code
        acc = ResponsesStream(status, clock)
        async with reading_stream(stream, status):
            async for event in stream:
                if acc.feed(event):
                    clock.mark_content()
        return acc.response(request_id)

    async def _stream_sse(self, kwargs: dict[str, Any], clock: CallClock,
                          meta: dict[str, str | None]) -> ProviderResponse:
        """The same request read off aiohttp by `sse`, each event decoded by msgspec into
        the fields `ResponsesStream` reads; failures are the SDK's exceptions."""
        assert self._session is not None
        body = {k: v for k, v in kwargs.items() if k != "timeout"}
        body["stream"] = True
        response = await post_stream(self._session, self._client, openai, self._responses_url, encode(body),
                                     self._sse_headers, kwargs["timeout"], connection_error_is_timeout=True)
        clock.mark_first_byte()
        request_id = meta["request_id"] = response.headers.get("x-request-id")
        acc = ResponsesStream(response.status, clock)
        async with reading_events(response, response.status) as events:
            async for _event, data in events:
                if acc.feed(_decode_event(data)):
                    clock.mark_content()
        return acc.response(request_id)


class ResponsesStream:
    """What a Responses stream's events say so far. Reads SDK event objects and our
    msgspec `_Event`s alike (same field names), so both read paths share it."""

    def __init__(self, status: int, clock: CallClock) -> None:
        self.status = status
        self.clock = clock  # marked here for reasoning; content is marked by the caller
        self.parts: list[str] = []
        self.final: Any = None

    def feed(self, event: Any) -> bool:
        """Take one event; True when it carried answer content (text or tool arguments).
        Reasoning (its item opened, its text or summary deltas, its item closed) is marked
        on the clock."""
        kind = event.type
        if kind in _CONTENT_EVENTS:
            if kind == "response.output_text.delta":
                self.parts.append(event.delta)
            return True
        if kind in _REASONING_DELTAS:
            if event.delta:
                self.clock.mark_reasoning()
        elif kind in _ITEM_EVENTS and event.item is not None and event.item.type == "reasoning":
            if kind == "response.output_item.added":
                self.clock.mark_reasoning_start()
            else:
                self.clock.mark_reasoning_end()
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            self.final = event.response
        elif kind == "error":
            raise event_error(event.code, event.message, self.status)
        return False

    def response(self, request_id: str | None) -> ProviderResponse:
        if self.final is None:
            raise ProviderCallError(ErrorClass.STREAM_BROKEN,
                                    "stream ended without response.completed", status=self.status)
        return build_response(self.final, "".join(self.parts), request_id, self.status)


# The fields of the Responses events and objects that `ResponsesStream` and `build_response`
# read; msgspec ignores the rest.
class _ErrorInfo(msgspec.Struct):
    code: str | None = None
    message: str = ""


class _Incomplete(msgspec.Struct):
    reason: str | None = None


class _Part(msgspec.Struct):
    type: str = ""
    text: str = ""


class _Item(msgspec.Struct):
    type: str = ""
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    content: list[_Part] | None = None


class _OutputDetails(msgspec.Struct):
    reasoning_tokens: int = 0


class _Usage(msgspec.Struct):
    input_tokens: int = 0
    output_tokens: int = 0
    output_tokens_details: _OutputDetails = msgspec.field(default_factory=_OutputDetails)


class _Response(msgspec.Struct):
    id: str | None = None
    status: str | None = None
    error: _ErrorInfo | None = None
    incomplete_details: _Incomplete | None = None
    output: list[_Item] = msgspec.field(default_factory=list)
    usage: _Usage | None = None

    @property
    def output_text(self) -> str:
        """The SDK's `Response.output_text`: every output_text part of every message item."""
        return "".join(part.text for item in self.output if item.type == "message"
                       for part in item.content or [] if part.type == "output_text")


class _Event(msgspec.Struct):
    type: str
    delta: str = ""
    item: _Item | None = None
    response: _Response | None = None
    code: str | None = None
    message: str = ""


_decode_event = msgspec.json.Decoder(_Event).decode


def build(name: str, base_url: str | None, api_key: str | None, settings: AdapterSettings) -> ProviderAPI:
    assert base_url is not None  # resolution refuses a Responses provider without an endpoint
    return OpenAIResponsesProvider(name, base_url, api_key, settings.api_key_env or "",
                                   transport=settings.transport, stream_reader=settings.stream_reader)


register_api(ApiSpec(kind="responses", build=build, capabilities=CAPABILITIES, list_models=list_models,
                     base_path="/v1"))
