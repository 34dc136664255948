"""The contract between the request pipeline and one API's wire format, plus the
paced writers that all APIs share.

Why split this way: timing, truth stamping and fault mechanics (cut, malformed) must be
identical for every API or comparisons between providers would measure the simulator;
only the bytes differ. A new API (e.g. OpenAI Responses) implements `Wire` and nothing else.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import msgspec
from aiohttp import web

from simulator.brains import Output
from simulator.config import ApiName, BrainConfig, FaultRule
from simulator.truth import RequestTruth

ErrorKind = Literal[
    "auth", "rate_limit", "quota", "server_error", "overloaded", "not_found", "bad_request", "context"
]

_encode = msgspec.json.Encoder().encode


def dumps(obj: Any) -> bytes:
    """Compact JSON; msgspec because it is on the per-chunk hot path at concurrency 256."""
    return _encode(obj)


@dataclass(slots=True)
class ParsedRequest:
    """The fields of a request body that the pipeline needs, whatever the API."""

    model: str
    stream: bool
    api_key: str | None
    max_tokens: int | None
    messages: object
    extra_input: tuple[object, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ErrorSpec:
    """An error to render in the API's own format."""

    kind: ErrorKind
    message: str
    status: int | None = None  # None = the API's usual status for `kind`
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Ctx:
    """Everything a wire renderer needs for one accepted request."""

    request: web.Request
    parsed: ParsedRequest
    brain: BrainConfig
    output: Output
    truth: RequestTruth
    fault: FaultRule | None
    input_tokens: int
    created: int = field(default_factory=lambda: int(time.time()))
    scratch: dict[str, bytes] = field(default_factory=dict)  # per-request frame templates
    reasoning_tokens: int = 0  # tokens "thought" before the first answer token
    reasoning_visible: bool = False  # the reasoning streams as text (else only its start and end)
    limit_headers: dict[str, str] = field(default_factory=dict)  # x-ratelimit-remaining-* and kin

    @property
    def reasoning_ms(self) -> float:
        """Thinking time added before the first visible token (0 unless effort was asked)."""
        return self.reasoning_tokens * self.brain.reasoning_ms_per_token

    @property
    def headers(self) -> dict[str, str]:
        return {"x-request-id": self.truth.request_id, "request-id": self.truth.request_id, **self.limit_headers}


class StreamFormat(Protocol):
    """Byte frames of one API's streaming response (the loop lives in `run_stream`)."""

    content_type: str

    def head(self, ctx: Ctx) -> bytes:
        """Frames sent immediately on arrival, before any token (role chunk, message_start)."""

    def chunk(self, ctx: Ctx, index: int, piece: str) -> bytes:
        """Frame for content chunk `index`; b"" = nothing to send for this index."""

    def tail(self, ctx: Ctx, sent: int) -> bytes:
        """Finish frames after `sent` chunks (finish_reason, usage, [DONE])."""

    def malformed(self, ctx: Ctx) -> bytes:
        """A frame the client cannot parse."""

    # Reasoning (sent between the head and the first answer token, paced like tokens):
    # whether it streams as text unless the brain says otherwise, and its frames.
    reasoning_text_default: bool

    def reasoning_start(self, ctx: Ctx) -> bytes:
        """Frames opening the reasoning (a reasoning item, a thinking block); b"" = none."""

    def reasoning_chunk(self, ctx: Ctx, index: int) -> bytes:
        """Frame for reasoning token `index` (only when the reasoning is visible)."""

    def reasoning_end(self, ctx: Ctx) -> bytes:
        """Frames closing the reasoning, and opening the answer if the format needs that."""


class NoReasoningFrames:
    """For formats with no reasoning events of their own (Chat Completions, Ollama): the
    reasoning costs its time before the first answer token and shows nothing else."""

    reasoning_text_default = False

    def reasoning_start(self, ctx: Ctx) -> bytes:
        return b""

    def reasoning_chunk(self, ctx: Ctx, index: int) -> bytes:
        return b""

    def reasoning_end(self, ctx: Ctx) -> bytes:
        return b""


class Wire(Protocol):
    """One API: request parsing, error bodies, and success responses."""

    api: ApiName
    stream_format: StreamFormat

    def parse(self, request: web.Request, body: dict[str, Any]) -> ParsedRequest: ...

    def error(self, spec: ErrorSpec, request_id: str) -> web.Response: ...

    def context_error(self, tokens: int, window: int) -> ErrorSpec: ...

    def body(self, ctx: Ctx) -> dict[str, Any]:
        """Complete non-streaming response object."""


async def _sleep_until(deadline_ns: int) -> None:
    delay = (deadline_ns - time.monotonic_ns()) / 1e9
    if delay > 0:
        await asyncio.sleep(delay)


def _token_deadline(ctx: Ctx, index: int) -> int:
    """Absolute schedule from arrival, so pacing never drifts with write overhead."""
    b = ctx.brain
    return ctx.truth.arrival_ns + int((b.ttft_ms + ctx.reasoning_ms + index * b.itl_ms) * 1e6)


def _reasoning_deadline(ctx: Ctx, index: int) -> int:
    """Reasoning starts once the prompt is read (the brain's TTFT) and takes
    `reasoning_ms_per_token` a token, so it ends where the first answer token is due."""
    b = ctx.brain
    return ctx.truth.arrival_ns + int((b.ttft_ms + index * b.reasoning_ms_per_token) * 1e6)


async def _stream_reasoning(ctx: Ctx, fmt: StreamFormat, resp: web.StreamResponse) -> None:
    """The reasoning's frames on its own schedule, each stamped in the truth just before it
    is handed to the socket (so no client can see it earlier)."""
    truth, total = ctx.truth, ctx.reasoning_tokens
    await _sleep_until(_reasoning_deadline(ctx, 0))
    truth.reasoning_start_ns = time.monotonic_ns()
    start = fmt.reasoning_start(ctx)
    if start:
        await resp.write(start)
    index = 0
    while ctx.reasoning_visible and index < total:
        await _sleep_until(_reasoning_deadline(ctx, index))
        now = time.monotonic_ns()
        frames = [fmt.reasoning_chunk(ctx, index)]
        index += 1
        while index < total and _reasoning_deadline(ctx, index) <= now:  # coalesce what is due
            frames.append(fmt.reasoning_chunk(ctx, index))
            index += 1
        if truth.first_reasoning_ns is None:
            truth.first_reasoning_ns = time.monotonic_ns()
        await resp.write(b"".join(frames))
    await _sleep_until(_reasoning_deadline(ctx, total))
    truth.reasoning_end_ns = time.monotonic_ns()
    end = fmt.reasoning_end(ctx)
    if end:
        await resp.write(end)


def _abort(request: web.Request) -> None:
    """Drop the connection without finishing the body, as a crashed upstream would."""
    transport = request.transport
    if transport is not None:
        transport.abort()


async def run_stream(ctx: Ctx, fmt: StreamFormat) -> web.StreamResponse:
    """Stream the output with the brain's pacing, applying stream_cut/malformed faults."""
    truth = ctx.truth
    resp = web.StreamResponse(status=200, headers=ctx.headers)
    resp.content_type = fmt.content_type
    resp.headers["Cache-Control"] = "no-cache"
    resp.enable_chunked_encoding()
    await resp.prepare(ctx.request)
    truth.status = 200
    truth.headers_sent_ns = time.monotonic_ns()
    head = fmt.head(ctx)
    if head:
        await resp.write(head)
    kind = ctx.fault.kind if ctx.fault is not None else None
    if ctx.reasoning_tokens and kind != "malformed":
        await _stream_reasoning(ctx, fmt, resp)
    if kind == "malformed":
        await _sleep_until(_token_deadline(ctx, 0))
        truth.first_content_ns = time.monotonic_ns()
        await resp.write(fmt.malformed(ctx))
        await resp.write_eof()
        return resp
    chunks = ctx.output.chunks
    cut_at = ctx.fault.cut_after_tokens if kind == "stream_cut" and ctx.fault is not None else None
    total = len(chunks) if cut_at is None else min(cut_at, len(chunks))
    index = 0
    while index < total:
        await _sleep_until(_token_deadline(ctx, index))
        # Coalesce every chunk already due: when the loop runs late (CPU contention at high
        # concurrency) this sends one packet instead of a burst, never anything early.
        now = time.monotonic_ns()
        frames = [fmt.chunk(ctx, index, chunks[index])]
        index += 1
        while index < total and _token_deadline(ctx, index) <= now:
            frames.append(fmt.chunk(ctx, index, chunks[index]))
            index += 1
        data = b"".join(frames)
        if not data:
            continue
        if truth.first_content_ns is None:
            truth.first_content_ns = time.monotonic_ns()
        await resp.write(data)
        truth.output_tokens += sum(1 for f in frames if f)
    if cut_at is not None:
        _abort(ctx.request)
        return resp
    truth.output_tokens = len(ctx.output.chunks)
    tail = fmt.tail(ctx, truth.output_tokens)
    if tail:
        await resp.write(tail)
    await resp.write_eof()
    return resp


async def run_json(ctx: Ctx, wire: Wire) -> web.StreamResponse:
    """Whole response after the full generation time; malformed/stream_cut corrupt it."""
    n = len(ctx.output.chunks)
    await _sleep_until(_token_deadline(ctx, max(n - 1, 0)))
    truth = ctx.truth
    truth.output_tokens = n
    data = dumps(wire.body(ctx))
    kind = ctx.fault.kind if ctx.fault is not None else None
    if kind == "malformed":
        data = data[: max(1, len(data) // 2)]  # a JSON object missing its end
    resp = web.StreamResponse(status=200, headers=ctx.headers)
    resp.content_type = "application/json"
    if kind == "stream_cut":
        resp.content_length = len(data)  # promise the full body, then deliver half of it
        await resp.prepare(ctx.request)
        truth.status = 200
        truth.headers_sent_ns = time.monotonic_ns()
        truth.first_content_ns = time.monotonic_ns()
        await resp.write(data[: len(data) // 2])
        _abort(ctx.request)
        return resp
    resp.content_length = len(data)
    await resp.prepare(ctx.request)
    truth.status = 200
    truth.headers_sent_ns = time.monotonic_ns()
    truth.first_content_ns = time.monotonic_ns()
    await resp.write(data)
    await resp.write_eof()
    return resp
