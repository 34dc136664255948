"""Anthropic Messages API (`POST /v1/messages`) through the official anthropic SDK.

Why this shape (mirrors `openai_compat`): the SDK's own retries are always off (ours is
the only retry layer), the clock is marked from the raw SSE events as they arrive (only
text and tool-argument deltas are content), a stream counts as finished only when
`message_stop` arrived, and every SDK or transport exception is mapped here, once, to
our closed error vocabulary with the key scrubbed from every message.

`temperature` is not sent: the installed SDK (2.x) no longer has the parameter, which
is the vendor saying current models do not take it.

Extended thinking (`@low/@medium/@high`): the thinking block's opening, text and closing
are marked on the clock (first token of any kind, reasoning duration), only the answer's
deltas are content (TTFT); usage's `output_tokens` includes thinking, so ours is the
visible part and `reasoning_tokens` the thinking, as for the Responses adapter.

The anthropic SDK is imported where it is used, not at the top: it takes ~0.4 s (over 1 s
on a busy 2-core box) and the provider registry imports this module in every process,
the driver's included, which never calls Anthropic itself.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
import httpx2

from harness.errors import ErrorClass, ProviderCallError, RetryDecision
from harness.providers.anthropic_stream import StreamState, raw_events
from harness.providers.registry import (
    AdapterSettings,
    ApiSpec,
    Host,
    StreamReader,
    Transport,
    register_api,
    register_host,
)
from harness.providers.sdk_errors import (
    MALFORMED_ERRORS,
    body_text,
    classify_sdk_error,
    mid_stream_error,
)
from harness.providers.sse import encode, post_stream, stream_headers
from harness.providers.wire_timing import SharedSession, timed_attempt, traced_aiohttp_client
from harness.redact import Redactor
from harness.retry_after import server_wait_s
from harness.seam import CallRequest, Capabilities, Message, ProviderAPI, ProviderResponse, connection_key
from harness.timing import CallClock

if TYPE_CHECKING:
    import anthropic

CAPABILITIES = Capabilities(streaming=True, tools=True, reasoning=True)
# `@low/@medium/@high` turn on extended thinking with this budget of thinking tokens (the
# API's minimum is 1024); other variants name something else and are not sent.
THINKING_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}
DEFAULT_KEY_ENV = "ANTHROPIC_API_KEY"
_CONTEXT_MARKERS = ("prompt is too long", "exceed context limit", "context window")
_QUOTA_MARKERS = ("credit balance", "billing_error")


def anthropic_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    """One tool definition in Anthropic's `{name, description, input_schema}` shape.

    Suites are written once for every provider, so OpenAI-style function tools
    (`{"type": "function", "function": {name, description, parameters}}`) are accepted
    and converted; a tool already in Anthropic's shape passes through unchanged.
    """
    fn = tool.get("function") if tool.get("type") == "function" else None
    if isinstance(fn, Mapping):
        out: dict[str, Any] = {"name": fn["name"],
                               "input_schema": fn.get("parameters") or {"type": "object"}}
        if fn.get("description"):
            out["description"] = fn["description"]
        return out
    return dict(tool)


def split_system(messages: list[Message]) -> tuple[str | None, list[dict[str, str]]]:
    """Anthropic takes the system prompt as a parameter, never as a message."""
    system = [m.content for m in messages if m.role == "system"]
    rest = [{"role": m.role, "content": m.content} for m in messages if m.role != "system"]
    return ("\n\n".join(system) if system else None), rest


class AnthropicProvider(ProviderAPI):
    """One Anthropic endpoint and key. `api_key_env` is named in auth errors.

    With `base_url`/`api_key` None, the SDK's own environment handling applies
    (`ANTHROPIC_BASE_URL`); the key is read from `api_key_env` here so that it can be
    redacted and hashed into `connection_key`.
    """

    def __init__(self, provider: str, base_url: str | None, api_key: str | None,
                 api_key_env: str = DEFAULT_KEY_ENV, transport: Transport = "aiohttp",
                 stream_reader: StreamReader = "sse") -> None:
        self.provider = provider
        self.api_key_env = api_key_env
        import anthropic

        key = api_key if api_key is not None else (os.environ.get(api_key_env) or None)
        self._redactor = Redactor([key] if key else [])
        # aiohttp: the SDK's transport and our own stream reader share one traced session
        self._session = SharedSession() if transport == "aiohttp" else None
        http_client = (traced_aiohttp_client(sdk="anthropic", session=self._session)
                       if self._session is not None else None)
        self._client = anthropic.AsyncAnthropic(base_url=base_url, api_key=key, max_retries=0,
                                                http_client=http_client)
        self.base_url = str(self._client.base_url)
        self._messages_url = self.base_url.rstrip("/") + "/v1/messages"
        self._sse_headers = stream_headers(self._client)
        self._own_reader = self._session is not None and stream_reader == "sse"
        self._connection_key = connection_key(provider, key, base_url or self.base_url)
        # resource properties import their modules lazily: pay that now, not in a TTFT
        self._messages = self._client.messages

    # -- the seam -----------------------------------------------------------------------

    def capabilities(self, model: str) -> Capabilities:
        return CAPABILITIES

    def connection_key(self) -> str:
        return self._connection_key

    async def warm_up(self) -> None:
        """Open a pooled connection and run the SDK's lazy request path once, untimed.

        Best effort: GET /v1/models is cheap and not a generation; any failure shows up,
        properly classified, on the first real call instead.
        """
        with contextlib.suppress(Exception):
            await self._client.models.list(timeout=5.0)

    async def aclose(self) -> None:
        await self._client.close()
        if self._session is not None:
            await self._session.aclose()

    async def call(self, request: CallRequest, clock: CallClock) -> ProviderResponse:
        system, messages = split_system(request.messages)
        kwargs: dict[str, Any] = {"model": request.model, "messages": messages,
                                  "max_tokens": request.max_tokens, "timeout": request.timeout_s}
        if system is not None:
            kwargs["system"] = system
        if request.tools:
            kwargs["tools"] = [anthropic_tool(t) for t in request.tools]
        budget = THINKING_BUDGETS.get(request.variant)
        if budget is not None:  # extended thinking; max_tokens counts it, so the answer keeps its own
            kwargs["thinking"] = {"type": "enabled", "budget_tokens": budget}
            kwargs["max_tokens"] = request.max_tokens + budget
        send = self._call_streaming if request.stream else self._call_once
        return await timed_attempt(clock, lambda meta: send(kwargs, clock, meta))

    async def _call_once(self, kwargs: dict[str, Any], clock: CallClock,
                         meta: dict[str, str | None]) -> ProviderResponse:
        import anthropic
        from anthropic.types import Message as AnthropicMessage

        raw = await self._messages.with_raw_response.create(stream=False, **kwargs)
        clock.mark_first_byte()
        request_id = meta["request_id"] = raw.headers.get("request-id")
        try:
            await raw.read()
        except (anthropic.APIConnectionError, httpx2.TransportError, aiohttp.ClientError,
                OSError) as exc:
            raise mid_stream_error(exc, raw.status_code) from exc
        # the whole answer is here: parsing it (slow the first time) is our cost, not theirs
        clock.mark_content()
        try:
            message = await raw.parse()
            if not isinstance(message, AnthropicMessage):
                raise ValueError(f"not a message: {body_text(message)[:200]!r}")  # noqa: TRY004 - caught below
            parts: list[str] = []
            tool_calls: list[dict[str, Any]] = []
            for block in message.content:
                if block.type == "text":
                    parts.append(block.text)
                elif block.type == "tool_use":
                    tool_calls.append({"id": block.id, "name": block.name, "arguments": block.input})
            usage = message.usage
            details = usage.output_tokens_details
            thinking = details.thinking_tokens if details is not None else None
            response = ProviderResponse(
                text="".join(parts), finish_reason=message.stop_reason, input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens - thinking if thinking else usage.output_tokens,
                reasoning_tokens=thinking,
                request_id=request_id or message.id, tool_calls=tool_calls)
        except MALFORMED_ERRORS as exc:
            raise ProviderCallError(ErrorClass.MALFORMED_RESPONSE,
                                    f"malformed response body: {type(exc).__name__}: {exc}",
                                    status=raw.status_code) from exc
        return response

    async def _call_streaming(self, kwargs: dict[str, Any], clock: CallClock,
                              meta: dict[str, str | None]) -> ProviderResponse:
        import anthropic

        events: AsyncIterator[Any]
        if self._session is not None and self._own_reader:  # our reader over aiohttp (`anthropic_stream`)
            body = {k: v for k, v in kwargs.items() if k != "timeout"}
            body["stream"] = True
            raw = await post_stream(self._session, self._client, anthropic, self._messages_url, encode(body),
                                    self._sse_headers, kwargs["timeout"], connection_error_is_timeout=False)
            events, close = raw_events(raw, self._client, self._messages_url), _releaser(raw)
            request_id, status = raw.headers.get("request-id"), raw.status
        else:
            stream = await self._messages.create(stream=True, **kwargs)
            events, close = stream, stream.close
            request_id, status = stream.response.headers.get("request-id"), stream.response.status_code
        clock.mark_first_byte()  # the headers have arrived
        meta["request_id"] = request_id
        acc = StreamState(clock)
        try:
            async for event in events:
                if acc.feed(event):
                    clock.mark_content()
        except (anthropic.APIConnectionError, httpx2.TransportError, aiohttp.ClientError,
                OSError) as exc:
            raise mid_stream_error(exc, status) from exc
        except anthropic.APIStatusError as exc:  # an `error` event inside a 200 stream
            setattr(exc, "request_id", request_id)  # noqa: B010 - for the attempt log
            raise
        except MALFORMED_ERRORS as exc:
            raise ProviderCallError(ErrorClass.MALFORMED_RESPONSE,
                                    f"malformed stream event: {type(exc).__name__}: {exc}",
                                    status=status) from exc
        finally:
            await close()
        if not acc.stopped:
            raise ProviderCallError(ErrorClass.STREAM_BROKEN,
                                    "stream ended without message_stop", status=status)
        try:
            tool_calls = acc.tool_calls()
        except json.JSONDecodeError as exc:
            raise ProviderCallError(ErrorClass.MALFORMED_RESPONSE,
                                    f"tool arguments are not JSON: {exc}", status=status) from exc
        return ProviderResponse(
            text="".join(acc.parts), finish_reason=acc.stop_reason,
            input_tokens=acc.input_tokens, output_tokens=acc.visible_output_tokens,
            reasoning_tokens=acc.thinking_tokens, request_id=request_id or acc.message_id,
            tool_calls=tool_calls)

    # -- classification -----------------------------------------------------------------

    def classify(self, error: BaseException) -> RetryDecision:
        return redacted(self._classify(error), self._redactor)

    def _classify(self, error: BaseException) -> RetryDecision:
        import anthropic

        return classify_sdk_error(error, self.provider, anthropic, self._classify_status)

    def _classify_status(self, error: anthropic.APIStatusError) -> RetryDecision:
        status = error.status_code
        etype = (error.type or "").lower()
        detail = error.api_message or error.message
        where = f"provider '{self.provider}' (HTTP {status})"
        text = f"{etype} {detail} {body_text(error.body)}".lower()
        wait = server_wait_s(_headers(error))
        if status == 429 or etype == "rate_limit_error":
            return RetryDecision("rate_limit", ErrorClass.RATE_LIMITED,
                                 f"rate limited by {where}: {detail}", wait, status)
        if status in (401, 403) or etype in ("authentication_error", "permission_error"):
            return RetryDecision("no", ErrorClass.AUTH,
                                 f"authentication failed for provider '{self.provider}' (HTTP {status}): "
                                 f"check the API key in ${self.api_key_env}; server said: {detail}",
                                 status=status)
        if status == 402 or any(m in text for m in _QUOTA_MARKERS):
            return RetryDecision("no", ErrorClass.QUOTA_EXHAUSTED,
                                 f"quota exhausted at {where}: {detail}", status=status)
        if status == 529 or etype == "overloaded_error":
            return RetryDecision("transient", ErrorClass.OVERLOADED, f"{where} overloaded: {detail}",
                                 wait, status)
        if status >= 500 or status < 400:  # < 400: an `error` event inside a 200 stream
            return RetryDecision("transient", ErrorClass.SERVER_ERROR, f"server error at {where}: {detail}",
                                 wait, status)
        if status == 408:
            return RetryDecision("transient", ErrorClass.TIMEOUT, f"{where} timed out: {detail}", wait, status)
        if any(m in text for m in _CONTEXT_MARKERS):
            return RetryDecision("no", ErrorClass.CONTEXT_OVERFLOW,
                                 f"context window exceeded at {where}: {detail}", status=status)
        return RetryDecision("no", ErrorClass.BAD_REQUEST, f"bad request to {where}: {detail}", status=status)


def redacted(decision: RetryDecision, redactor: Redactor) -> RetryDecision:
    """The same decision with every secret scrubbed from its message."""
    return RetryDecision(kind=decision.kind, error_class=decision.error_class,
                         message=redactor.redact(decision.message),
                         retry_after_s=decision.retry_after_s, status=decision.status)


def _releaser(response: aiohttp.ClientResponse) -> Callable[[], Awaitable[None]]:
    """Hand the connection back (aiohttp closes it instead if the body was not read to the end)."""
    async def release() -> None:
        response.release()

    return release


def _headers(error: anthropic.APIStatusError) -> Mapping[str, str]:
    try:
        return error.response.headers
    except AttributeError:
        return {}


async def list_models(base_url: str | None, api_key: str | None, timeout: float) -> list[str]:
    """The IDs `GET /v1/models` lists (paged by the SDK), without retries."""
    import anthropic

    client = anthropic.AsyncAnthropic(base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout)
    try:
        return [m.id async for m in client.models.list()]
    finally:
        await client.close()


def build(name: str, base_url: str | None, api_key: str | None, settings: AdapterSettings) -> ProviderAPI:
    return AnthropicProvider(name, base_url, api_key, settings.api_key_env or DEFAULT_KEY_ENV,
                             transport=settings.transport, stream_reader=settings.stream_reader)


register_api(ApiSpec(kind="messages", build=build, capabilities=CAPABILITIES, list_models=list_models,
                     needs_base_url=False))
register_host(Host("anthropic", "messages", "https://api.anthropic.com", "ANTHROPIC_BASE_URL", DEFAULT_KEY_ENV))
