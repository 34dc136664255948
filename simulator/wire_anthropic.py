"""Anthropic Messages wire format (`POST /v1/messages`, `GET /v1/models` with anthropic-version).

Why `quota` is 402 `billing_error` here: the installed anthropic SDK maps 402 to
`PaymentRequiredError` and lists `billing_error` among its error types, so a client can
tell "out of credit" (never retry) from a 400 bad request or a 429 rate limit (retry).

Extended thinking (`thinking: {type: enabled, budget_tokens: B}`) picks the brain's
reasoning tokens by effort, the simulator's rule being B < 4096 low, < 16384 medium, else
high. The thinking streams as block 0 (`thinking_delta`s paced by
`reasoning_ms_per_token`, unless the brain hides it: then only the block and its
signature), the answer as block 1; usage counts thinking in `output_tokens` and apart in
`output_tokens_details.thinking_tokens`, as the API does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from simulator.config import ApiName
from simulator.wire import Ctx, ErrorSpec, ParsedRequest, StreamFormat, dumps

_STATUS = {
    "auth": 401, "rate_limit": 429, "quota": 402, "server_error": 500, "overloaded": 529,
    "not_found": 404, "bad_request": 400, "context": 400,
}
_TYPE = {
    "auth": "authentication_error", "rate_limit": "rate_limit_error", "quota": "billing_error",
    "server_error": "api_error", "overloaded": "overloaded_error", "not_found": "not_found_error",
    "bad_request": "invalid_request_error", "context": "invalid_request_error",
}
_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_call": "tool_use"}


def _event(name: bytes, data: dict[str, Any]) -> bytes:
    return b"event: " + name + b"\ndata: " + dumps(data) + b"\n\n"


def _msg_id(ctx: Ctx) -> str:
    return f"msg_{ctx.truth.request_id.replace('-', '_')}"


def _tool_id(ctx: Ctx) -> str:
    return f"toolu_{ctx.truth.request_id.replace('-', '_')}"


def _usage(ctx: Ctx, output_tokens: int) -> dict[str, Any]:
    usage: dict[str, Any] = {"input_tokens": ctx.input_tokens, "output_tokens": output_tokens + ctx.reasoning_tokens,
                             "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    if ctx.reasoning_tokens:
        usage["output_tokens_details"] = {"thinking_tokens": ctx.reasoning_tokens}
    return usage


def _answer_index(ctx: Ctx) -> int:
    """The answer's content block follows the thinking block when the model thought."""
    return 1 if ctx.reasoning_tokens else 0


def _thinking_piece(index: int) -> str:
    return f"step {index + 1}; "


def _signature(ctx: Ctx) -> str:
    return f"sig_{ctx.truth.request_id.replace('-', '_')}"


def _thinking_block(ctx: Ctx) -> dict[str, Any]:
    text = "".join(_thinking_piece(i) for i in range(ctx.reasoning_tokens)) if ctx.reasoning_visible else ""
    return {"type": "thinking", "thinking": text, "signature": _signature(ctx)}


def thinking_effort(thinking: object) -> str | None:
    """The brain effort an extended-thinking request asks for (the module docstring's rule)."""
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        return None
    budget = thinking.get("budget_tokens")
    if not isinstance(budget, int):
        return None
    return "low" if budget < 4096 else ("medium" if budget < 16384 else "high")


class AnthropicStream:
    """message_start, [thinking block: start, deltas, signature, stop], content_block_start,
    ping, deltas, block stop, message_delta, message_stop."""

    content_type = "text/event-stream"
    reasoning_text_default = True  # thinking streams as text

    def _answer_start(self, ctx: Ctx) -> bytes:
        if ctx.output.is_tool_call:
            block: dict[str, Any] = {"type": "tool_use", "id": _tool_id(ctx),
                                     "name": ctx.output.tool_name, "input": {}}
        else:
            block = {"type": "text", "text": ""}
        return (_event(b"content_block_start",
                       {"type": "content_block_start", "index": _answer_index(ctx), "content_block": block})
                + _event(b"ping", {"type": "ping"}))

    def head(self, ctx: Ctx) -> bytes:
        message: dict[str, Any] = {
            "id": _msg_id(ctx), "type": "message", "role": "assistant", "content": [],
            "model": ctx.parsed.model, "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": ctx.input_tokens, "output_tokens": 0,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
        }
        start = _event(b"message_start", {"type": "message_start", "message": message})
        return start if ctx.reasoning_tokens else start + self._answer_start(ctx)

    def reasoning_start(self, ctx: Ctx) -> bytes:
        block = {"type": "thinking", "thinking": "", "signature": ""}
        return _event(b"content_block_start", {"type": "content_block_start", "index": 0, "content_block": block})

    def reasoning_chunk(self, ctx: Ctx, index: int) -> bytes:
        delta = {"type": "thinking_delta", "thinking": _thinking_piece(index)}
        return _event(b"content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})

    def reasoning_end(self, ctx: Ctx) -> bytes:
        signature = {"type": "signature_delta", "signature": _signature(ctx)}
        return (_event(b"content_block_delta", {"type": "content_block_delta", "index": 0, "delta": signature})
                + _event(b"content_block_stop", {"type": "content_block_stop", "index": 0})
                + self._answer_start(ctx))

    def chunk(self, ctx: Ctx, index: int, piece: str) -> bytes:
        if ctx.output.is_tool_call:
            delta = {"type": "input_json_delta", "partial_json": piece}
        else:
            delta = {"type": "text_delta", "text": piece}
        return _event(b"content_block_delta",
                      {"type": "content_block_delta", "index": _answer_index(ctx), "delta": delta})

    def tail(self, ctx: Ctx, sent: int) -> bytes:
        return (_event(b"content_block_stop", {"type": "content_block_stop", "index": _answer_index(ctx)})
                + _event(b"message_delta", {
                    "type": "message_delta",
                    "delta": {"stop_reason": _STOP[ctx.output.finish], "stop_sequence": None},
                    "usage": {k: v for k, v in _usage(ctx, sent).items() if k != "input_tokens"}})
                + _event(b"message_stop", {"type": "message_stop"}))

    def malformed(self, ctx: Ctx) -> bytes:
        return b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{\n\n'


class AnthropicWire:
    """Anthropic Messages: parsing, errors, full responses."""

    api: ApiName = "anthropic"
    stream_format: StreamFormat = AnthropicStream()

    def parse(self, request: web.Request, body: dict[str, Any]) -> ParsedRequest:
        key = request.headers.get("x-api-key")
        if key is None:
            auth = request.headers.get("Authorization", "")
            key = auth[7:] if auth.lower().startswith("bearer ") else None
        max_tokens = body.get("max_tokens")
        return ParsedRequest(
            model=str(body.get("model", "")),
            stream=bool(body.get("stream", False)),
            api_key=key,
            max_tokens=max_tokens if isinstance(max_tokens, int) else None,
            messages=body.get("messages", []),
            extra_input=(body.get("system"), body.get("tools")),
            options={"reasoning_effort": thinking_effort(body.get("thinking"))},
        )

    def error(self, spec: ErrorSpec, request_id: str) -> web.Response:
        body = {"type": "error", "error": {"type": _TYPE[spec.kind], "message": spec.message},
                "request_id": request_id}
        headers = {"x-request-id": request_id, "request-id": request_id, **spec.headers}
        return web.Response(status=spec.status or _STATUS[spec.kind], body=dumps(body),
                            content_type="application/json", headers=headers)

    def context_error(self, tokens: int, window: int) -> ErrorSpec:
        return ErrorSpec("context", f"prompt is too long: {tokens} tokens > {window} maximum")

    def body(self, ctx: Ctx) -> dict[str, Any]:
        out = ctx.output
        if out.is_tool_call:
            block: dict[str, Any] = {"type": "tool_use", "id": _tool_id(ctx), "name": out.tool_name,
                                     "input": out.tool_arguments or {}}
        else:
            block = {"type": "text", "text": out.text}
        content = [_thinking_block(ctx), block] if ctx.reasoning_tokens else [block]
        return {
            "id": _msg_id(ctx), "type": "message", "role": "assistant", "content": content,
            "model": ctx.parsed.model, "stop_reason": _STOP[out.finish], "stop_sequence": None,
            "usage": _usage(ctx, len(out.chunks)),
        }


def anthropic_models_response(names: list[str]) -> dict[str, Any]:
    """Anthropic's paginated model list (one page)."""
    stamp = datetime(2025, 1, 1, tzinfo=UTC).isoformat().replace("+00:00", "Z")
    data = [{"type": "model", "id": n, "display_name": n, "created_at": stamp} for n in names]
    return {"data": data, "has_more": False,
            "first_id": names[0] if names else None, "last_id": names[-1] if names else None}
