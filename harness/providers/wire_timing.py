"""Stamp the moment a request actually hits the socket, from inside the HTTP transport.

Why: with many calls on one event loop, a request can wait several ms for the CPU before
it is written (SDK request building, other coroutines). Timing from "we called the SDK"
would charge that client queueing to the provider: guidellm's TTFT inflation under load.
aiohttp's trace hooks run in the calling task, so a ContextVar carries the current call's
clock to them; TTFT and friends are then measured from the send, and the queueing is
recorded separately as client overhead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from types import SimpleNamespace
from typing import Any, Literal

import aiohttp
import openai

from harness.errors import ProviderCallError
from harness.retry_after import remaining_share
from harness.seam import ProviderResponse
from harness.timing import CallClock

AttemptFn = Callable[[dict[str, str | None]], Awaitable[ProviderResponse]]

current_clock: ContextVar[CallClock | None] = ContextVar("fleetbench_current_clock", default=None)


async def _on_sent(_session: aiohttp.ClientSession, _ctx: SimpleNamespace, _params: Any) -> None:
    clock = current_clock.get()
    if clock is not None:
        clock.mark_sent()


async def _on_end(_session: aiohttp.ClientSession, _ctx: SimpleNamespace,
                  params: aiohttp.TraceRequestEndParams) -> None:
    """Response headers are in: note what the server says is left of its rate windows."""
    clock = current_clock.get()
    if clock is not None:
        clock.rate_remaining = remaining_share(params.response.headers)


def traced_trace_config() -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(_on_end)
    # headers only, and the first stamp wins (CallClock.mark_sent): aiohttp may coalesce the
    # headers with the body and write them later from another task, so this stamp is a lower
    # bound of the real write, and a TTFT measured from it can never undercut the server's.
    trace.on_request_headers_sent.append(_on_sent)
    return trace


class SharedSession:
    """One aiohttp session with send-time tracing, made on first use (it must be made
    inside the running loop): the SDK's transport and our own SSE reader share its pool.

    The pool is sized generously on purpose: concurrency is the limiter's job, and a small
    pool would add invisible queueing of its own.
    """

    def __init__(self, connection_limit: int = 1000) -> None:
        self.connection_limit = connection_limit
        self._session: aiohttp.ClientSession | None = None

    def __call__(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.connection_limit, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(connector=connector, trace_configs=[traced_trace_config()])
        return self._session

    async def aclose(self) -> None:
        """Close the pool (the SDK's client only closes it if the SDK itself used it)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()


def traced_aiohttp_client(connection_limit: int = 1000,
                          sdk: Literal["openai", "anthropic"] = "openai",
                          session: SharedSession | None = None) -> Any:
    """The openai/anthropic SDKs' aiohttp transport over `session` (send-time tracing).

    Each SDK gets its own vendored transport and client class: the anthropic copy maps a
    dropped connection to `ConnectError` (openai's to `ConnectTimeout`) and sets its own
    default timeout and pool limits, so mixing them would change error classification.
    The SDK's client closes the session when it is closed.
    """
    if session is None:
        session = SharedSession(connection_limit)

    if sdk == "anthropic":
        import anthropic
        from anthropic._vendor.httpx_aiohttp.transport import AiohttpTransport as AnthropicTransport

        return anthropic.DefaultAioHttpClient(transport=AnthropicTransport(client=session))

    from openai._vendor.httpx_aiohttp.transport import AiohttpTransport

    return openai.DefaultAioHttpClient(transport=AiohttpTransport(client=session))


async def timed_attempt(clock: CallClock, attempt: AttemptFn) -> ProviderResponse:
    """Run one SDK attempt with `clock` visible to the transport's trace hooks.

    `attempt` gets a `meta` dict to fill (e.g. `request_id` once headers are in); a
    ProviderCallError raised after that carries the server's request id, so the attempt log
    can be matched to the server's records. The clock is always finished.
    """
    meta: dict[str, str | None] = {}
    token = current_clock.set(clock)
    try:
        return await attempt(meta)
    except ProviderCallError as exc:
        setattr(exc, "request_id", meta.get("request_id"))  # noqa: B010 - not a declared field
        raise
    finally:
        current_clock.reset(token)
        clock.finish()
