"""Anthropic Messages wire format (`POST /v1/messages`, `GET /v1/models` with anthropic-version).

Why `quota` is 402 `billing_error` here: the installed anthropic SDK maps 402 to
`PaymentRequiredError` and lists `billing_error` among its error types, so a client can
tell "out of credit" (never retry) from a 400 bad request or a 429 rate limit (retry).
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
    return {"input_tokens": ctx.input_tokens, "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


class AnthropicStream:
    """message_start, content_block_start, ping, deltas, block stop, message_delta, message_stop."""

    content_type = "text/event-stream"

    def head(self, ctx: Ctx) -> bytes:
        message: dict[str, Any] = {
            "id": _msg_id(ctx), "type": "message", "role": "assistant", "content": [],
            "model": ctx.parsed.model, "stop_reason": None, "stop_sequence": None,
            "usage": _usage(ctx, 0),
        }
        if ctx.output.is_tool_call:
            block: dict[str, Any] = {"type": "tool_use", "id": _tool_id(ctx),
                                     "name": ctx.output.tool_name, "input": {}}
        else:
            block = {"type": "text", "text": ""}
        return (_event(b"message_start", {"type": "message_start", "message": message})
                + _event(b"content_block_start",
                         {"type": "content_block_start", "index": 0, "content_block": block})
                + _event(b"ping", {"type": "ping"}))

    def chunk(self, ctx: Ctx, index: int, piece: str) -> bytes:
        if ctx.output.is_tool_call:
            delta = {"type": "input_json_delta", "partial_json": piece}
        else:
            delta = {"type": "text_delta", "text": piece}
        return _event(b"content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})

    def tail(self, ctx: Ctx, sent: int) -> bytes:
        return (_event(b"content_block_stop", {"type": "content_block_stop", "index": 0})
                + _event(b"message_delta", {
                    "type": "message_delta",
                    "delta": {"stop_reason": _STOP[ctx.output.finish], "stop_sequence": None},
                    "usage": {"output_tokens": sent}})
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
        return {
            "id": _msg_id(ctx), "type": "message", "role": "assistant", "content": [block],
            "model": ctx.parsed.model, "stop_reason": _STOP[out.finish], "stop_sequence": None,
            "usage": _usage(ctx, len(out.chunks)),
        }


def anthropic_models_response(names: list[str]) -> dict[str, Any]:
    """Anthropic's paginated model list (one page)."""
    stamp = datetime(2025, 1, 1, tzinfo=UTC).isoformat().replace("+00:00", "Z")
    data = [{"type": "model", "id": n, "display_name": n, "created_at": stamp} for n in names]
    return {"data": data, "has_more": False,
            "first_id": names[0] if names else None, "last_id": names[-1] if names else None}
