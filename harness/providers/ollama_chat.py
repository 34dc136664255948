"""Ollama's native `/api/chat` through the official `ollama.AsyncClient`.

Why this shape (mirroring `openai_compat`): the clock is marked from the wire as NDJSON
lines arrive, a stream only succeeds if its `done: true` line arrived, and every client or
transport exception is mapped here, once, to our closed error vocabulary. The ollama
client hides response headers and per-request timeouts, so two small pieces fill the gaps:
httpx event hooks (running in the calling task, so a ContextVar finds the call) capture
the headers (Retry-After, x-request-id) and stamp the send through httpcore's trace
extension; the timeout is ours, as an idle timeout per line (like httpx's read timeout).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import httpx2
import msgspec
import ollama
import pydantic

from harness.errors import ErrorClass, ProviderCallError, RetryDecision, RetryKind
from harness.providers.registry import AdapterSettings, ApiSpec, Host, register_api, register_host
from harness.providers.sdk_errors import chain
from harness.redact import Redactor
from harness.retry_after import server_wait_s
from harness.seam import CallRequest, Capabilities, ProviderAPI, ProviderResponse, connection_key
from harness.timing import CallClock

if TYPE_CHECKING:
    from harness.providers.ollama_preflight import PreflightReport, PreflightThresholds

T = TypeVar("T")
DEFAULT_HOST = "http://127.0.0.1:11434"
LOCAL_PROVIDER = "local"
# The models an Ollama server runs (small local ones) refuse native tool definitions, so the
# tool-use phase describes tools in the prompt there; the adapter still forwards `tools`.
CAPABILITIES = Capabilities(streaming=True, tools=True, reasoning=False, structured_output=True,
                            native_tools=False)
_MALFORMED = (json.JSONDecodeError, pydantic.ValidationError, KeyError, TypeError, ValueError)
_TRANSIENT = frozenset({ErrorClass.STREAM_BROKEN, ErrorClass.MALFORMED_RESPONSE, ErrorClass.TIMEOUT,
                        ErrorClass.CONNECTION, ErrorClass.SERVER_ERROR, ErrorClass.OVERLOADED,
                        ErrorClass.RATE_LIMITED})


@dataclass
class _CallMeta:
    """What the httpx hooks learn about the current attempt."""

    clock: CallClock
    headers: dict[str, str] = field(default_factory=dict)


_current: ContextVar[_CallMeta | None] = ContextVar("fleetbench_ollama_call", default=None)


async def _trace(name: str, _info: dict[str, Any]) -> None:
    """Stamp the send as the headers start to go out. Not after the write: anyio yields to
    the event loop inside the write, so a ".complete" stamp can land after the server's own
    arrival stamp (measured -4.6 ms at concurrency 16) and undercut TTFT; ".started" is a
    lower bound of the real send."""
    meta = _current.get()
    if meta is not None and name.endswith(".send_request_headers.started"):
        meta.clock.mark_sent()


async def _on_request(request: httpx.Request) -> None:
    if _current.get() is not None:
        request.extensions["trace"] = _trace


async def _on_response(response: httpx.Response) -> None:
    """Headers are in: that is the first byte (as in openai_compat, where the stream object
    exists once the headers have arrived)."""
    meta = _current.get()
    if meta is not None:
        meta.headers = {k.lower(): v for k, v in response.headers.items()}
        meta.clock.mark_first_byte()


def resolve_host(host: str | None) -> str:
    """The URL the ollama client will use: `host`, else `$OLLAMA_HOST`, else the default,
    normalised the way the client does (so errors and connection keys name the real target)."""
    raw = host or os.environ.get("OLLAMA_HOST") or ""
    try:
        from ollama._client import _parse_host  # the client's own rule, incl. the :11434 default

        return str(_parse_host(raw or None))
    except ImportError:  # pragma: no cover - a future client that moved it
        return raw or DEFAULT_HOST


class OllamaProvider(ProviderAPI):
    """One Ollama server. `keep_alive` is sent with every chat so the model stays loaded
    across a run instead of being evicted between items (and reloaded inside a TTFT)."""

    def __init__(self, provider: str, host: str | None, keep_alive: str | float | None = "5m") -> None:
        self.provider = provider
        self.host = resolve_host(host)
        self.keep_alive = keep_alive
        api_key = os.environ.get("OLLAMA_API_KEY")  # the client sends it as a bearer token
        # the limit pool is the server (as the limiter's): the bearer token is optional
        self._connection_key = connection_key(provider, None, self.host)
        self._redactor = Redactor([api_key] if api_key else [])
        self._client = ollama.AsyncClient(
            host=self.host, event_hooks={"request": [_on_request], "response": [_on_response]})

    # -- the seam -----------------------------------------------------------------------

    def capabilities(self, model: str) -> Capabilities:
        return CAPABILITIES

    def connection_key(self) -> str:
        return self._connection_key

    async def warm_up(self) -> None:
        """Open a pooled connection and touch /api/ps and /api/tags, untimed. Best effort:
        a failure here shows up, properly classified, on the first real call instead."""
        for probe in (self._client.ps, self._client.list):
            try:
                await asyncio.wait_for(probe(), timeout=5.0)
            except Exception:  # noqa: BLE001, S112 - best effort by design
                continue

    async def aclose(self) -> None:
        await self._client.close()  # type: ignore[no-untyped-call]

    async def call(self, request: CallRequest, clock: CallClock) -> ProviderResponse:
        options: dict[str, Any] = {"num_predict": request.max_tokens}
        if request.temperature is not None:
            options["temperature"] = request.temperature
        kwargs: dict[str, Any] = {
            "model": request.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "options": options,
            "keep_alive": self.keep_alive,
        }
        if request.tools:
            kwargs["tools"] = request.tools
        if request.response_schema is not None:
            kwargs["format"] = request.response_schema
        meta = _CallMeta(clock)
        token = _current.set(meta)
        try:
            if request.stream:
                return await self._call_streaming(kwargs, request.timeout_s, meta)
            return await self._call_once(kwargs, request.timeout_s, meta)
        except ollama.ResponseError as exc:
            raise self._response_error(exc, request.model, meta.headers) from exc
        except ProviderCallError as exc:
            setattr(exc, "request_id", meta.headers.get("x-request-id"))  # noqa: B010 - not a declared field
            raise
        finally:
            _current.reset(token)
            clock.finish()

    async def _call_once(self, kwargs: dict[str, Any], timeout_s: float, meta: _CallMeta) -> ProviderResponse:
        async with asyncio.timeout(timeout_s):
            resp = await self._client.chat(stream=False, **kwargs)
        meta.clock.mark_first_byte()
        message = resp.message
        tool_calls = _tool_calls(message)
        if message.content or tool_calls:
            meta.clock.mark_content()
        return ProviderResponse(
            text=message.content or "", finish_reason=resp.done_reason,
            input_tokens=resp.prompt_eval_count, output_tokens=resp.eval_count,
            request_id=meta.headers.get("x-request-id"), tool_calls=tool_calls)

    async def _call_streaming(self, kwargs: dict[str, Any], timeout_s: float,
                              meta: _CallMeta) -> ProviderResponse:
        clock = meta.clock
        async with asyncio.timeout(timeout_s):
            stream = await self._client.chat(stream=True, **kwargs)
        parts: list[str] = []
        tool_calls: list[dict[str, Any]] = []
        final: ollama.ChatResponse | None = None
        try:
            async for part in _idle_limited(stream, timeout_s):
                clock.mark_first_byte()
                content = part.message.content
                calls = _tool_calls(part.message)
                if content or calls:
                    clock.mark_content()
                if content:
                    parts.append(content)
                tool_calls.extend(calls)
                if part.done:
                    final = part
                    break
        except ollama.ResponseError as exc:
            if exc.status_code > 0:
                raise
            raise ProviderCallError(ErrorClass.SERVER_ERROR, f"error line mid-stream: {exc.error}") from exc
        except TimeoutError as exc:
            raise ProviderCallError(ErrorClass.TIMEOUT, f"no stream line for {timeout_s:g} s") from exc
        except (httpx.TransportError, httpx2.TransportError, OSError) as exc:
            if not meta.headers:  # never connected (refused, DNS...): `classify` names the host
                raise
            raise ProviderCallError(ErrorClass.STREAM_BROKEN,
                                    f"stream broken mid-way: {type(exc).__name__}") from exc
        except _MALFORMED as exc:
            raise ProviderCallError(ErrorClass.MALFORMED_RESPONSE,
                                    f"malformed stream line: {type(exc).__name__}: {exc}") from exc
        finally:
            await _close(stream)
        if final is None:
            raise ProviderCallError(ErrorClass.STREAM_BROKEN, "stream ended without a `done: true` line")
        return ProviderResponse(
            text="".join(parts), finish_reason=final.done_reason,
            input_tokens=final.prompt_eval_count, output_tokens=final.eval_count,
            request_id=meta.headers.get("x-request-id"), tool_calls=tool_calls)

    # -- classification -----------------------------------------------------------------

    def classify(self, error: BaseException) -> RetryDecision:
        d = self._classify(error)
        return RetryDecision(kind=d.kind, error_class=d.error_class, message=self._redactor.redact(d.message),
                             retry_after_s=d.retry_after_s, status=d.status)

    def _classify(self, error: BaseException) -> RetryDecision:
        if isinstance(error, ollama.ResponseError):
            error = self._response_error(error, None, {})
        if isinstance(error, ProviderCallError):
            kind: RetryKind = "transient" if error.error_class in _TRANSIENT else "no"
            if error.error_class == ErrorClass.RATE_LIMITED:
                kind = "rate_limit"
            return RetryDecision(kind, error.error_class, str(error), error.retry_after_s, error.status)
        links = chain(error)
        if any(isinstance(e, (httpx.TimeoutException, httpx2.TimeoutException, TimeoutError)) for e in links):
            return RetryDecision("transient", ErrorClass.TIMEOUT, f"request to Ollama at {self.host} timed out")
        if any(isinstance(e, (httpx.ConnectError, httpx2.ConnectError, ConnectionRefusedError)) for e in links) \
                or type(error) is ConnectionError:  # the client's own "Failed to connect to Ollama"
            return RetryDecision("transient", ErrorClass.CONNECTION,
                                 f"cannot connect to Ollama at {self.host} (set by the provider's host or "
                                 f"$OLLAMA_HOST): is `ollama serve` running there?")
        if any(isinstance(e, (httpx.RemoteProtocolError, httpx.ReadError, httpx2.TransportError))
               for e in links):
            return RetryDecision("transient", ErrorClass.STREAM_BROKEN,
                                 f"response from Ollama at {self.host} cut off: {type(links[-1]).__name__}")
        if isinstance(error, _MALFORMED):
            return RetryDecision("transient", ErrorClass.MALFORMED_RESPONSE,
                                 f"malformed response from Ollama at {self.host}: {type(error).__name__}: {error}")
        if isinstance(error, (httpx.TransportError, OSError)):
            return RetryDecision("transient", ErrorClass.CONNECTION,
                                 f"connection to Ollama at {self.host} failed: {type(error).__name__}")
        return RetryDecision("no", ErrorClass.UNKNOWN, f"{type(error).__name__}: {error}")

    def _response_error(self, exc: ollama.ResponseError, model: str | None,
                        headers: Mapping[str, str]) -> ProviderCallError:
        """An HTTP error status from the server, as our error class (with the server's wait)."""
        status = exc.status_code
        said = str(exc.error)
        where = f"Ollama at {self.host} (HTTP {status})"
        if status < 0:  # an `{"error": ...}` line inside a 200 stream
            return ProviderCallError(ErrorClass.SERVER_ERROR, f"error line mid-stream from {self.host}: {said}")
        if status == 429:
            return ProviderCallError(ErrorClass.RATE_LIMITED, f"rate limited by {where}: {said}",
                                     server_wait_s(headers), status)
        if status in (401, 403):
            return ProviderCallError(ErrorClass.AUTH, f"authentication failed at {where}: check "
                                     f"$OLLAMA_API_KEY; server said: {said}", status=status)
        if status == 503:
            return ProviderCallError(ErrorClass.OVERLOADED, f"{where} overloaded: {said}",
                                     server_wait_s(headers), status)
        if status >= 500:
            return ProviderCallError(ErrorClass.SERVER_ERROR, f"server error at {where}: {said}",
                                     server_wait_s(headers), status)
        if status == 408:
            return ProviderCallError(ErrorClass.TIMEOUT, f"{where} timed out: {said}", status=status)
        if status == 404:
            name = f"'{model}'" if model else "the requested model"
            return ProviderCallError(ErrorClass.BAD_REQUEST,
                                     f"model {name} is not pulled on {self.host} (run `ollama pull "
                                     f"{model or 'MODEL'}` there, or point $OLLAMA_HOST at a server "
                                     f"that has it); server said: {said}", status=status)
        low = said.lower()
        if "context" in low or "too long" in low:
            return ProviderCallError(ErrorClass.CONTEXT_OVERFLOW,
                                     f"context window exceeded at {where}: {said}", status=status)
        return ProviderCallError(ErrorClass.BAD_REQUEST, f"bad request to {where}: {said}", status=status)


async def _idle_limited(stream: AsyncIterator[T], idle_s: float) -> AsyncIterator[T]:
    """Each next line must come within `idle_s`: a hung server is a timeout, a slow but
    live generation is not (the same contract as httpx's read timeout)."""
    it = aiter(stream)
    while True:
        try:
            async with asyncio.timeout(idle_s):
                item = await anext(it)
        except StopAsyncIteration:
            return
        yield item


async def _close(stream: object) -> None:
    """Close the client's generator so its `async with` releases the connection now."""
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:  # noqa: BLE001, S110 - closing a broken stream may itself fail
            pass


def _tool_calls(message: ollama.Message) -> list[dict[str, Any]]:
    """Ollama sends each tool call whole: `{"name", "arguments"}` with arguments a dict."""
    return [{"name": tc.function.name, "arguments": dict(tc.function.arguments)}
            for tc in (message.tool_calls or [])]


async def list_models(base_url: str | None, api_key: str | None, timeout: float) -> list[str]:
    """The models `ollama list` shows (pulled on that server)."""
    client = ollama.AsyncClient(host=resolve_host(base_url), timeout=timeout)
    try:
        response = await client.list()
        return [m.model for m in response.models if m.model]
    finally:
        await client.close()  # type: ignore[no-untyped-call]


async def preflight(base_url: str | None, archive_dir: Path, thresholds: PreflightThresholds) -> PreflightReport:
    """Is the server idle, and is there disk and RAM for the run (`ollama_preflight`)?"""
    from harness.providers.ollama_preflight import preflight as check

    return await check(base_url, archive_dir, thresholds)


def build(name: str, base_url: str | None, api_key: str | None, settings: AdapterSettings) -> ProviderAPI:
    return OllamaProvider(name, base_url)


register_api(ApiSpec(kind="ollama", build=build, capabilities=CAPABILITIES, list_models=list_models,
                     lister_name="ollama list", preflight=preflight, normalize_url=resolve_host))
register_host(Host("ollama", "ollama", DEFAULT_HOST, "OLLAMA_HOST"))
# the embedded GGUF models (llama.cpp behind Ollama's wire), served by the run itself
register_host(Host(LOCAL_PROVIDER, "ollama", capabilities=msgspec.structs.replace(
    CAPABILITIES, own_tokenizer=True, serial=True, local=True)))
