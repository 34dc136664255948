"""Ollama wire format (`POST /api/chat` NDJSON, `/api/tags`, `/api/ps`, `/api/version`).

Why field names follow `ollama/_types.py` (ChatResponse, ListResponse, ProcessResponse):
the official client validates with pydantic, so a misnamed field silently becomes None
and the harness would record zero tokens without any error.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from simulator.config import ApiName
from simulator.wire import Ctx, ErrorSpec, NoReasoningFrames, ParsedRequest, StreamFormat, dumps

_STATUS = {
    "auth": 401, "rate_limit": 429, "quota": 429, "server_error": 500, "overloaded": 503,
    "not_found": 404, "bad_request": 400, "context": 400,
}
VERSION = "0.12.0"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _tool_calls(ctx: Ctx) -> list[dict[str, Any]]:
    return [{"function": {"name": ctx.output.tool_name, "arguments": ctx.output.tool_arguments or {}}}]


def _final_fields(ctx: Ctx, sent: int) -> dict[str, Any]:
    now = time.monotonic_ns()
    ttft_ns = int(ctx.brain.ttft_ms * 1e6)
    return {
        "done": True,
        "done_reason": "length" if ctx.output.finish == "length" else "stop",
        "total_duration": now - ctx.truth.arrival_ns,
        "load_duration": 0,
        "prompt_eval_count": ctx.input_tokens,
        "prompt_eval_duration": ttft_ns,
        "eval_count": sent,
        "eval_duration": max(0, now - ctx.truth.arrival_ns - ttft_ns),
    }


class OllamaStream(NoReasoningFrames):
    """One JSON line per token, then a `done: true` line with counts and durations.

    Tool calls are not streamed piecewise by Ollama: the whole call arrives in one line,
    sent at the time the last argument token would have been produced.
    """

    content_type = "application/x-ndjson"

    def _line(self, ctx: Ctx, message: dict[str, Any], extra: dict[str, Any] | None = None) -> bytes:
        obj: dict[str, Any] = {"model": ctx.parsed.model, "created_at": _now_iso(),
                               "message": message, "done": False}
        if extra:
            obj.update(extra)
        return dumps(obj) + b"\n"

    def head(self, ctx: Ctx) -> bytes:
        return b""

    def chunk(self, ctx: Ctx, index: int, piece: str) -> bytes:
        if ctx.output.is_tool_call:
            if index != len(ctx.output.chunks) - 1:
                return b""
            return self._line(ctx, {"role": "assistant", "content": "", "tool_calls": _tool_calls(ctx)})
        return self._line(ctx, {"role": "assistant", "content": piece})

    def tail(self, ctx: Ctx, sent: int) -> bytes:
        count = 1 if ctx.output.is_tool_call else sent
        return self._line(ctx, {"role": "assistant", "content": ""}, _final_fields(ctx, count))

    def malformed(self, ctx: Ctx) -> bytes:
        return b'{"model":"' + ctx.parsed.model.encode() + b'","message":{"role":"assistant","content":\n'


class OllamaWire:
    """Ollama chat: parsing, errors (`{"error": "..."}`), full responses."""

    api: ApiName = "ollama"
    stream_format: StreamFormat = OllamaStream()

    def parse(self, request: web.Request, body: dict[str, Any]) -> ParsedRequest:
        auth = request.headers.get("Authorization", "")
        options = body.get("options") or {}
        num_predict = options.get("num_predict") if isinstance(options, dict) else None
        stream = body.get("stream")
        return ParsedRequest(
            model=str(body.get("model", "")),
            stream=True if stream is None else bool(stream),
            api_key=auth[7:] if auth.lower().startswith("bearer ") else None,
            max_tokens=num_predict if isinstance(num_predict, int) and num_predict > 0 else None,
            messages=body.get("messages", []),
            extra_input=(body.get("tools"),),
        )

    def error(self, spec: ErrorSpec, request_id: str) -> web.Response:
        headers = {"x-request-id": request_id, "request-id": request_id, **spec.headers}
        return web.Response(status=spec.status or _STATUS[spec.kind], body=dumps({"error": spec.message}),
                            content_type="application/json", headers=headers)

    def context_error(self, tokens: int, window: int) -> ErrorSpec:
        return ErrorSpec("context", f"input length ({tokens} tokens) exceeds the context length ({window})")

    def body(self, ctx: Ctx) -> dict[str, Any]:
        out = ctx.output
        message: dict[str, Any] = {"role": "assistant", "content": "" if out.is_tool_call else out.text}
        if out.is_tool_call:
            message["tool_calls"] = _tool_calls(ctx)
        obj: dict[str, Any] = {"model": ctx.parsed.model, "created_at": _now_iso(), "message": message}
        obj.update(_final_fields(ctx, len(out.chunks)))
        return obj


def _model_entry(name: str) -> dict[str, Any]:
    return {
        "name": name, "model": name, "modified_at": _now_iso(), "size": 1_000_000,
        "digest": "sha256:" + "0" * 64,
        "details": {"parent_model": "", "format": "gguf", "family": "sim", "families": ["sim"],
                    "parameter_size": "1B", "quantization_level": "Q4_0"},
    }


def tags_response(names: list[str]) -> dict[str, Any]:
    return {"models": [_model_entry(n) for n in names]}


def ps_response(names: list[str], context: dict[str, int | None]) -> dict[str, Any]:
    expires = (datetime.now(UTC) + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    models = []
    for n in names:
        entry = _model_entry(n)
        entry.pop("modified_at")
        entry.update({"expires_at": expires, "size_vram": 1_000_000, "context_length": context.get(n) or 4096})
        models.append(entry)
    return {"models": models}
