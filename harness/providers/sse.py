"""Server-sent events read straight off aiohttp: the streaming hot path of the OpenAI adapters.

Why not the SDK's stream: profiled end to end against the simulator (a 64-token Chat
Completions stream, `benchmarks/stream_profile.py`, docs/stream_cpu.md), the openai SDK
spends about half of a call's client CPU building a pydantic model per chunk
(`openai._models.construct_type`, ~3 ms of ~6 ms per call here). Reading the SSE frames
ourselves and decoding each `data:` payload with msgspec into the few fields we read
costs a few microseconds a chunk. Only the hot path is ours: the request is the one the
SDK would send, and every failure is raised as the exception the SDK would have raised
(`post_stream`, `request_error`), so `classify` maps it exactly as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from types import ModuleType
from typing import Any

import aiohttp
import httpx2
import msgspec

from harness.providers.sdk_errors import in_stream_error
from harness.providers.wire_timing import SharedSession

_EVENT_END = b"\n\n"
encode = msgspec.json.Encoder().encode  # request bodies: plain JSON, as the SDK would send


async def sse_events(response: aiohttp.ClientResponse) -> AsyncIterator[tuple[bytes, bytes]]:
    """(event name, data) per server-sent event, as bytes arrive (the whole body is read,
    so the connection goes back to the pool). `data` lines are joined with newlines;
    comments and other fields are skipped (the SSE spec's parsing, without `id`/`retry`)."""
    buffer = b""
    async for piece in response.content.iter_any():
        buffer = buffer + piece if buffer else piece
        if b"\r" in buffer:  # CRLF or CR line ends are legal SSE: normalise to LF
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        start = 0
        while (end := buffer.find(_EVENT_END, start)) >= 0:
            event, data = _parse_block(buffer[start:end])
            start = end + 2
            if data is not None:
                yield event, data
        buffer = buffer[start:]


def _parse_block(block: bytes) -> tuple[bytes, bytes | None]:
    if block.startswith(b"data: ") and b"\n" not in block:  # OpenAI's chat: one data line
        return b"", block[6:]
    if block.startswith(b"event: "):  # typed events (Responses, Anthropic): event, then data
        first, _, rest = block.partition(b"\n")
        if rest.startswith(b"data: ") and b"\n" not in rest:
            return first[7:], rest[6:]
    event = b""
    data: list[bytes] = []
    for line in block.split(b"\n"):
        field, _, value = line.partition(b":")
        value = value[1:] if value.startswith(b" ") else value
        if field == b"data":
            data.append(value)
        elif field == b"event":
            event = value
    return event, (b"\n".join(data) if data else None)


def client_timeout(timeout_s: float) -> aiohttp.ClientTimeout:
    """The SDK's aiohttp transport's timeouts for one float: connect, pool wait and each
    socket read (an idle timeout, like httpx's read timeout), no total."""
    return aiohttp.ClientTimeout(total=None, sock_connect=timeout_s, sock_read=timeout_s, connect=timeout_s)


def request_error(exc: BaseException, url: str, sdk: ModuleType,
                  connection_error_is_timeout: bool) -> Exception:
    """What the SDK raises when its aiohttp transport fails before the headers: its vendored
    transport turns socket timeouts (and, in the openai SDK's copy, every connection error)
    into httpx timeouts, which the SDK raises as APITimeoutError; anything else becomes an
    APIConnectionError. The aiohttp error stays the cause, as it does there."""
    request = httpx2.Request("POST", url)
    timeout = (aiohttp.ClientConnectionError, TimeoutError) if connection_error_is_timeout else TimeoutError
    if isinstance(exc, timeout):
        return sdk.APITimeoutError(request=request)  # type: ignore[no-any-return]
    return sdk.APIConnectionError(request=request)  # type: ignore[no-any-return]


def sdk_response(response: aiohttp.ClientResponse, url: str, body: bytes = b"") -> httpx2.Response:
    """Our aiohttp response as the SDK's httpx response, for the SDK's exception builders."""
    return httpx2.Response(response.status, headers=list(response.raw_headers), content=body,
                           request=httpx2.Request("POST", url))


async def post_stream(session: SharedSession, client: Any, sdk: ModuleType, url: str, body: bytes,
                      headers: Mapping[str, str], timeout_s: float, *,
                      connection_error_is_timeout: bool) -> aiohttp.ClientResponse:
    """POST `body` and return the 2xx response whose events are to be read. Raise the SDK's
    exception for a failed request, or for an error status the one the SDK builds itself
    (RateLimitError, AuthenticationError...) from the same status, headers and body."""
    try:
        response = await session().post(url, data=body, headers=headers, timeout=client_timeout(timeout_s))
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise request_error(exc, url, sdk, connection_error_is_timeout) from exc
    if response.status >= 300:
        try:
            error: Exception = client._make_status_error_from_response(
                sdk_response(response, url, await response.read()))
        finally:
            response.release()
        raise error
    return response


def stream_headers(client: Any) -> dict[str, str]:
    """The headers the SDK's client sends (auth, version, user agent), asking for a stream;
    the ones it leaves out (an `Omit` value: no organisation set) are left out here too."""
    sent = {k: v for k, v in {**client.default_headers, **client.auth_headers}.items() if isinstance(v, str)}
    return {**sent, "Accept": "text/event-stream"}


@contextlib.asynccontextmanager
async def reading_events(response: aiohttp.ClientResponse, status: int
                         ) -> AsyncIterator[AsyncIterator[tuple[bytes, bytes]]]:
    """`sse_events(response)`, with whatever breaks the loop mapped as the SDK's stream
    reader maps it (`in_stream_error`), and the response released on every way out (a
    connection left half-read is closed, not returned to the pool)."""
    try:
        yield sse_events(response)
    except Exception as exc:
        response.close()
        mapped = in_stream_error(exc, status)
        if mapped is None or mapped is exc:
            raise
        raise mapped from exc
    except BaseException:  # cancelled: drop the connection mid-stream
        response.close()
        raise
    else:
        response.release()
