"""Error classification for the SDK-based adapters: the exception ladder of the openai and
anthropic SDKs (`classify_sdk_error`), the HTTP-status decisions of the OpenAI APIs
(`classify_openai_error`), and the helpers every adapter uses to read a failure (the
exception chain, a timeout told from a dropped connection, a body cut short).

Why one module: the openai SDK (Chat Completions, Responses) and the anthropic SDK are
generated from the same template and raise the same exception names over the same
transports, and the ollama adapter walks exception chains the same way; a 429
`insufficient_quota` or a dropped aiohttp connection must land in the same error class
whichever API a model speaks, or provider comparisons would measure our adapters.
Adapter-specific failures (a stream without its finish marker, a `response.failed` event)
are raised as `ProviderCallError` carrying their class and pass straight through.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from types import ModuleType
from typing import Any

import aiohttp
import httpx2
import openai
import pydantic

from harness.errors import ErrorClass, ProviderCallError, RetryDecision, RetryKind
from harness.redact import Redactor
from harness.retry_after import server_wait_s

MALFORMED_ERRORS = (json.JSONDecodeError, pydantic.ValidationError, AttributeError, KeyError,
                    TypeError, ValueError)
TRANSIENT = frozenset({ErrorClass.STREAM_BROKEN, ErrorClass.MALFORMED_RESPONSE, ErrorClass.TIMEOUT,
                       ErrorClass.CONNECTION, ErrorClass.SERVER_ERROR, ErrorClass.OVERLOADED,
                       ErrorClass.RATE_LIMITED})


def chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes/contexts, outermost first (cycle-safe)."""
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def timed_out(exc: BaseException) -> bool:
    """A real timeout, not a dropped connection in disguise.

    The vendored aiohttp transport maps every `ClientConnectionError` (a server hanging
    up included) to httpx2's `ConnectTimeout`, so the SDK reports it as a timeout; only
    a `TimeoutError` at the root of an aiohttp failure is one.
    """
    links = chain(exc)
    if any(isinstance(e, aiohttp.ClientError) for e in links):
        return any(isinstance(e, TimeoutError) for e in links)
    return any(isinstance(e, (httpx2.TimeoutException, TimeoutError)) for e in links)


def body_cut(exc: BaseException) -> bool:
    """Headers arrived but the body stopped short (a non-streamed response cut off)."""
    for e in chain(exc):
        if isinstance(e, aiohttp.ClientPayloadError) or "complete message body" in str(e):
            return True
    return False


def body_text(body: object) -> str:
    if isinstance(body, (dict, list)):
        return json.dumps(body, default=str)
    return "" if body is None else str(body)


def root_name(exc: BaseException) -> str:
    return type(chain(exc)[-1]).__name__


def status_headers(error: openai.APIStatusError) -> Mapping[str, str]:
    try:
        return error.response.headers
    except AttributeError:
        return {}


def mid_stream_error(exc: BaseException, status: int) -> ProviderCallError:
    """A transport failure after headers: a timeout, or a broken stream (both retried)."""
    if timed_out(exc):
        return ProviderCallError(ErrorClass.TIMEOUT, "timed out mid-stream", status=status)
    return ProviderCallError(ErrorClass.STREAM_BROKEN,
                             f"stream broken mid-way: {type(exc).__name__}", status=status)


def in_stream_error(exc: Exception, status: int) -> ProviderCallError | None:
    """What an exception raised while reading a 200 stream means; None = not ours to map.

    Transport failures are timeouts or broken streams (retried), an SDK `APIError` is an
    error payload inside the stream, and a parse failure is a malformed chunk.
    """
    if isinstance(exc, ProviderCallError):
        return exc
    if isinstance(exc, (openai.APIConnectionError, httpx2.TransportError, aiohttp.ClientError, OSError)):
        return mid_stream_error(exc, status)
    if isinstance(exc, openai.APIError):
        return ProviderCallError(ErrorClass.SERVER_ERROR, f"error event mid-stream: {exc.message}",
                                 status=status)
    if isinstance(exc, MALFORMED_ERRORS):
        return ProviderCallError(ErrorClass.MALFORMED_RESPONSE,
                                 f"malformed stream chunk: {type(exc).__name__}: {exc}", status=status)
    return None


@contextlib.asynccontextmanager
async def reading_stream(stream: Any, status: int) -> AsyncIterator[None]:
    """Around the loop over an openai-SDK stream: whatever breaks it becomes the class
    `in_stream_error` says, and the stream is closed on every way out (a leaked stream
    holds its pooled connection until the server gives up)."""
    try:
        yield
    except Exception as exc:
        mapped = in_stream_error(exc, status)
        if mapped is None or mapped is exc:
            raise
        raise mapped from exc
    finally:
        await stream.close()


def error_message(error: object) -> str:
    """The message of an error payload inside a stream, by the SDK's rule."""
    message = error.get("message") if isinstance(error, Mapping) else None
    return message if isinstance(message, str) and message else "An error occurred during streaming"


def classify_openai_error(error: BaseException, provider: str, api_key_env: str,
                          redactor: Redactor) -> RetryDecision:
    """Map any exception an openai-SDK adapter raised to a decision, key scrubbed."""
    d = _classify(error, provider, api_key_env)
    return RetryDecision(kind=d.kind, error_class=d.error_class, message=redactor.redact(d.message),
                         retry_after_s=d.retry_after_s, status=d.status)


def _classify(error: BaseException, name: str, api_key_env: str) -> RetryDecision:
    return classify_sdk_error(error, name, openai, lambda status_error: _classify_status(
        status_error, name, api_key_env))


def classify_sdk_error(error: BaseException, name: str, sdk: ModuleType,
                       on_status: Callable[[Any], RetryDecision]) -> RetryDecision:
    """The ladder every Stainless-generated SDK (openai, anthropic) shares: the same exception
    names over the same transports, so a dropped connection lands in one class whichever
    provider raised it. Only HTTP statuses differ per provider: `on_status` decides those
    (inspect_ai's per-provider hook); `sdk` is the SDK module whose classes to match."""
    if isinstance(error, ProviderCallError):
        kind: RetryKind = "transient" if error.error_class in TRANSIENT else "no"
        if error.error_class == ErrorClass.RATE_LIMITED:
            kind = "rate_limit"
        return RetryDecision(kind, error.error_class, str(error), error.retry_after_s, error.status)
    if isinstance(error, sdk.APIStatusError):
        return on_status(error)
    if isinstance(error, sdk.APITimeoutError):
        if timed_out(error):
            return RetryDecision("transient", ErrorClass.TIMEOUT, f"request to '{name}' timed out")
        return RetryDecision("transient", ErrorClass.CONNECTION,
                             f"connection to '{name}' dropped: {root_name(error)}")
    if isinstance(error, sdk.APIConnectionError) and body_cut(error):
        return RetryDecision("transient", ErrorClass.STREAM_BROKEN,
                             f"response body from '{name}' cut off: {root_name(error)}")
    if isinstance(error, sdk.APIConnectionError):
        return RetryDecision("transient", ErrorClass.CONNECTION,
                             f"cannot connect to '{name}': {root_name(error)}")
    if isinstance(error, (httpx2.RemoteProtocolError, aiohttp.ClientPayloadError)):
        return RetryDecision("transient", ErrorClass.STREAM_BROKEN,
                             f"stream from '{name}' broken mid-way: {type(error).__name__}")
    if isinstance(error, (httpx2.TimeoutException, TimeoutError)):
        return RetryDecision("transient", ErrorClass.TIMEOUT, f"request to '{name}' timed out")
    if isinstance(error, (httpx2.TransportError, aiohttp.ClientError)):
        return RetryDecision("transient", ErrorClass.CONNECTION,
                             f"connection to '{name}' failed: {type(error).__name__}")
    if isinstance(error, sdk.APIResponseValidationError):
        return RetryDecision("transient", ErrorClass.MALFORMED_RESPONSE,
                             f"malformed response from '{name}': {error.message}",
                             status=error.status_code)
    if isinstance(error, MALFORMED_ERRORS):
        return RetryDecision("transient", ErrorClass.MALFORMED_RESPONSE,
                             f"malformed response from '{name}': {type(error).__name__}: {error}")
    if isinstance(error, sdk.APIError):
        return RetryDecision("transient", ErrorClass.SERVER_ERROR, f"'{name}' error: {error.message}")
    return RetryDecision("no", ErrorClass.UNKNOWN, f"{type(error).__name__}: {error}")


def _classify_status(error: openai.APIStatusError, name: str, api_key_env: str) -> RetryDecision:
    status = error.status_code
    body = body_text(error.body)
    detail = f"{error.message}"
    where = f"provider '{name}' (HTTP {status})"
    wait = server_wait_s(status_headers(error))
    codes = f"{error.code or ''} {error.type or ''} {body}".lower()
    if status == 429:
        if "insufficient_quota" in codes:
            return RetryDecision("no", ErrorClass.QUOTA_EXHAUSTED,
                                 f"quota exhausted at {where}: {detail}", status=status)
        return RetryDecision("rate_limit", ErrorClass.RATE_LIMITED,
                             f"rate limited by {where}: {detail}", wait, status)
    if status in (401, 403):
        return RetryDecision("no", ErrorClass.AUTH,
                             f"authentication failed for provider '{name}' (HTTP {status}): "
                             f"check the API key in ${api_key_env}; server said: {detail}",
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
