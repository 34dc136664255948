"""Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Together, the simulator...).

Why this shape: the SDK's own retries are always off (ours is the only retry layer), the
clock is marked from the stream as chunks arrive (role-only chunks are not content), and
every SDK or transport exception is mapped here, once, to our closed error vocabulary,
with the key scrubbed from every message.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal

import aiohttp
import httpx2
import openai
import pydantic
from openai.types.chat import ChatCompletion

from harness.errors import ErrorClass, ProviderCallError, RetryDecision, RetryKind
from harness.providers.wire_timing import current_clock, traced_aiohttp_client
from harness.redact import Redactor
from harness.retry_after import server_wait_s
from harness.seam import CallRequest, Capabilities, ProviderAPI, ProviderResponse
from harness.timing import CallClock

Transport = Literal["aiohttp", "httpx"]
_MALFORMED_ERRORS = (json.JSONDecodeError, pydantic.ValidationError, AttributeError, KeyError,
                     TypeError, ValueError)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _timed_out(exc: BaseException) -> bool:
    """A real timeout, not a dropped connection in disguise.

    The vendored aiohttp transport maps every `ClientConnectionError` (a server hanging
    up included) to httpx2's `ConnectTimeout`, so the SDK reports it as a timeout; only
    a `TimeoutError` at the root of an aiohttp failure is one.
    """
    chain = _chain(exc)
    if any(isinstance(e, aiohttp.ClientError) for e in chain):
        return any(isinstance(e, TimeoutError) for e in chain)
    return any(isinstance(e, (httpx2.TimeoutException, TimeoutError)) for e in chain)


def _body_cut(exc: BaseException) -> bool:
    """Headers arrived but the body stopped short (a non-streamed response cut off)."""
    for e in _chain(exc):
        if isinstance(e, aiohttp.ClientPayloadError) or "complete message body" in str(e):
            return True
    return False


def _body_text(body: object) -> str:
    if isinstance(body, (dict, list)):
        return json.dumps(body, default=str)
    return "" if body is None else str(body)


class OpenAICompatProvider(ProviderAPI):
    """One OpenAI-compatible endpoint and key. `api_key_env` is named in auth errors."""

    def __init__(self, provider: str, base_url: str, api_key: str | None, api_key_env: str,
                 transport: Transport = "aiohttp") -> None:
        self.provider = provider
        self.base_url = base_url
        self.api_key_env = api_key_env
        self._key_hash = hashlib.sha256(api_key.encode()).hexdigest()[:12] if api_key else None
        self._redactor = Redactor([api_key] if api_key else [])
        http_client = traced_aiohttp_client() if transport == "aiohttp" else None
        self._client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key or "none",
                                          max_retries=0, http_client=http_client)
        # `client.chat` imports its modules lazily (~50 ms): pay that now, not in a TTFT
        self._completions = self._client.chat.completions

    # -- the seam -----------------------------------------------------------------------

    def capabilities(self, model: str) -> Capabilities:
        return Capabilities(streaming=True, tools=True, reasoning=False)

    def connection_key(self) -> str:
        return f"{self.provider}:{self._key_hash or 'nokey'}"

    async def warm_up(self) -> None:
        """Open a pooled connection and run the SDK's lazy request path once, untimed.

        Best effort: GET /models is cheap and not a generation, and any failure here will
        show up, properly classified, on the first real call instead.
        """
        with contextlib.suppress(Exception):
            await self._client.models.list(timeout=5.0)

    async def aclose(self) -> None:
        await self._client.close()

    async def call(self, request: CallRequest, clock: CallClock) -> ProviderResponse:
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
        meta: dict[str, str | None] = {}
        token = current_clock.set(clock)
        try:
            if request.stream:
                return await self._call_streaming(kwargs, clock, meta)
            return await self._call_once(kwargs, clock, meta)
        except ProviderCallError as exc:
            # let the attempt log name the server's id of a request that broke after headers
            setattr(exc, "request_id", meta.get("request_id"))  # noqa: B010 - not a declared field
            raise
        finally:
            current_clock.reset(token)
            clock.finish()

    async def _call_once(self, kwargs: dict[str, Any], clock: CallClock,
                         meta: dict[str, str | None]) -> ProviderResponse:
        raw = await self._completions.with_raw_response.create(stream=False, **kwargs)
        clock.mark_first_byte()
        request_id = meta["request_id"] = raw.headers.get("x-request-id")
        try:
            completion = raw.parse()
            if not isinstance(completion, ChatCompletion) or not completion.choices:
                raise ValueError(f"not a chat completion: {_body_text(completion)[:200]!r}")
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
        except _MALFORMED_ERRORS as exc:
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
        try:
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
        except openai.APIConnectionError as exc:
            raise self._mid_stream(exc, status) from exc
        except (httpx2.TransportError, aiohttp.ClientError, OSError) as exc:
            raise self._mid_stream(exc, status) from exc
        except openai.APIError as exc:  # an error event inside a 200 stream
            raise ProviderCallError(ErrorClass.SERVER_ERROR,
                                    f"error event mid-stream: {exc.message}", status=status) from exc
        except _MALFORMED_ERRORS as exc:
            raise ProviderCallError(ErrorClass.MALFORMED_RESPONSE,
                                    f"malformed stream chunk: {type(exc).__name__}: {exc}",
                                    status=status) from exc
        finally:
            await stream.close()
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

    @staticmethod
    def _mid_stream(exc: BaseException, status: int) -> ProviderCallError:
        if _timed_out(exc):
            return ProviderCallError(ErrorClass.TIMEOUT, "timed out mid-stream", status=status)
        return ProviderCallError(ErrorClass.STREAM_BROKEN,
                                 f"stream broken mid-way: {type(exc).__name__}", status=status)

    # -- classification -----------------------------------------------------------------

    def classify(self, error: BaseException) -> RetryDecision:
        decision = self._classify(error)
        return RetryDecision(kind=decision.kind, error_class=decision.error_class,
                             message=self._redactor.redact(decision.message),
                             retry_after_s=decision.retry_after_s, status=decision.status)

    def _classify(self, error: BaseException) -> RetryDecision:
        name = self.provider
        if isinstance(error, ProviderCallError):
            kind: RetryKind = "transient" if error.error_class in _TRANSIENT else "no"
            if error.error_class == ErrorClass.RATE_LIMITED:
                kind = "rate_limit"
            return RetryDecision(kind, error.error_class, str(error), error.retry_after_s, error.status)
        if isinstance(error, openai.APIStatusError):
            return self._classify_status(error)
        if isinstance(error, openai.APITimeoutError):
            if _timed_out(error):
                return RetryDecision("transient", ErrorClass.TIMEOUT, f"request to '{name}' timed out")
            return RetryDecision("transient", ErrorClass.CONNECTION,
                                 f"connection to '{name}' dropped: {_root_name(error)}")
        if isinstance(error, openai.APIConnectionError) and _body_cut(error):
            return RetryDecision("transient", ErrorClass.STREAM_BROKEN,
                                 f"response body from '{name}' cut off: {_root_name(error)}")
        if isinstance(error, openai.APIConnectionError):
            return RetryDecision("transient", ErrorClass.CONNECTION,
                                 f"cannot connect to '{name}': {_root_name(error)}")
        if isinstance(error, openai.APIResponseValidationError):
            return RetryDecision("transient", ErrorClass.MALFORMED_RESPONSE,
                                 f"malformed response from '{name}': {error.message}",
                                 status=error.status_code)
        if isinstance(error, _MALFORMED_ERRORS):
            return RetryDecision("transient", ErrorClass.MALFORMED_RESPONSE,
                                 f"malformed response from '{name}': {type(error).__name__}: {error}")
        if isinstance(error, openai.APIError):
            return RetryDecision("transient", ErrorClass.SERVER_ERROR, f"'{name}' error: {error.message}")
        return RetryDecision("no", ErrorClass.UNKNOWN, f"{type(error).__name__}: {error}")

    def _classify_status(self, error: openai.APIStatusError) -> RetryDecision:
        status = error.status_code
        body = _body_text(error.body)
        detail = f"{error.message}"
        where = f"provider '{self.provider}' (HTTP {status})"
        wait = server_wait_s(_headers(error))
        codes = f"{error.code or ''} {error.type or ''} {body}".lower()
        if status == 429:
            if "insufficient_quota" in codes:
                return RetryDecision("no", ErrorClass.QUOTA_EXHAUSTED,
                                     f"quota exhausted at {where}: {detail}", status=status)
            return RetryDecision("rate_limit", ErrorClass.RATE_LIMITED,
                                 f"rate limited by {where}: {detail}", wait, status)
        if status in (401, 403):
            return RetryDecision("no", ErrorClass.AUTH,
                                 f"authentication failed for provider '{self.provider}' (HTTP {status}): "
                                 f"check the API key in ${self.api_key_env}; server said: {detail}",
                                 status=status)
        if status == 529:
            return RetryDecision("transient", ErrorClass.OVERLOADED, f"{where} overloaded: {detail}",
                                 wait, status)
        if status >= 500:
            return RetryDecision("transient", ErrorClass.SERVER_ERROR, f"server error at {where}: {detail}",
                                 wait, status)
        if status == 408:
            return RetryDecision("transient", ErrorClass.TIMEOUT, f"{where} timed out: {detail}", wait, status)
        text = f"{codes} {detail}".lower()
        if "context_length_exceeded" in text or "maximum context length" in text:
            return RetryDecision("no", ErrorClass.CONTEXT_OVERFLOW,
                                 f"context window exceeded at {where}: {detail}", status=status)
        return RetryDecision("no", ErrorClass.BAD_REQUEST, f"bad request to {where}: {detail}", status=status)


_TRANSIENT = frozenset({ErrorClass.STREAM_BROKEN, ErrorClass.MALFORMED_RESPONSE, ErrorClass.TIMEOUT,
                        ErrorClass.CONNECTION, ErrorClass.SERVER_ERROR, ErrorClass.OVERLOADED,
                        ErrorClass.RATE_LIMITED})


def _headers(error: openai.APIStatusError) -> Mapping[str, str]:
    try:
        return error.response.headers
    except AttributeError:
        return {}


def _root_name(exc: BaseException) -> str:
    return type(_chain(exc)[-1]).__name__


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
