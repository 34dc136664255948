"""OpenAI Chat Completions wire format (`POST /v1/chat/completions`, `GET /v1/models`).

Why byte templates for chunks: at concurrency 256 with 5 ms inter-token latency the
simulator writes ~50k chunks/s on a shared 2-core box; re-serialising the constant part
of every chunk would become the bottleneck and inflate the TTFT it is meant to measure.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulator.config import ApiName
from simulator.wire import Ctx, ErrorSpec, NoReasoningFrames, ParsedRequest, StreamFormat, dumps

_STATUS = {
    "auth": 401, "rate_limit": 429, "quota": 429, "server_error": 500, "overloaded": 503,
    "not_found": 404, "bad_request": 400, "context": 400,
}
_TYPE_CODE: dict[str, tuple[str, str | None]] = {
    "auth": ("invalid_request_error", "invalid_api_key"),
    "rate_limit": ("rate_limit_exceeded", "rate_limit_exceeded"),
    "quota": ("insufficient_quota", "insufficient_quota"),
    "server_error": ("server_error", None),
    "overloaded": ("server_error", "overloaded"),
    "not_found": ("invalid_request_error", "model_not_found"),
    "bad_request": ("invalid_request_error", None),
    "context": ("invalid_request_error", "context_length_exceeded"),
}
_FINISH = {"stop": "stop", "length": "length", "tool_call": "tool_calls"}


def _bearer(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[7:] if auth.lower().startswith("bearer ") else None


def _completion_id(ctx: Ctx) -> str:
    return f"chatcmpl-{ctx.truth.request_id}"


def _call_id(ctx: Ctx) -> str:
    return f"call_{ctx.truth.request_id.replace('-', '_')}"


def _usage(ctx: Ctx, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": ctx.input_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": ctx.input_tokens + completion_tokens,
    }


class OpenAIStream(NoReasoningFrames):
    """SSE frames: role chunk, one chunk per token, finish chunk, optional usage, [DONE]."""

    content_type = "text/event-stream"

    def _prefix(self, ctx: Ctx) -> bytes:
        prefix = ctx.scratch.get("openai")
        if prefix is None:
            prefix = ctx.scratch["openai"] = (
                b'data: {"id":' + dumps(_completion_id(ctx)) + b',"object":"chat.completion.chunk","created":'
                + str(ctx.created).encode() + b',"model":' + dumps(ctx.parsed.model)
                + b',"system_fingerprint":"fp_sim","choices":'
            )
        return prefix

    def _choice(self, ctx: Ctx, delta: dict[str, Any], finish: str | None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return self._prefix(ctx) + dumps([choice]) + b"}\n\n"

    def head(self, ctx: Ctx) -> bytes:
        return self._choice(ctx, {"role": "assistant", "content": ""}, None)

    def chunk(self, ctx: Ctx, index: int, piece: str) -> bytes:
        if ctx.output.is_tool_call:
            call: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
            if index == 0:
                call = {
                    "index": 0, "id": _call_id(ctx), "type": "function",
                    "function": {"name": ctx.output.tool_name, "arguments": piece},
                }
            return self._choice(ctx, {"tool_calls": [call]}, None)
        # Hot path (one call per token): splice the text into a fixed template.
        return (self._prefix(ctx) + b'[{"index":0,"delta":{"content":' + dumps(piece)
                + b'},"logprobs":null,"finish_reason":null}]}\n\n')

    def tail(self, ctx: Ctx, sent: int) -> bytes:
        out = self._choice(ctx, {}, _FINISH[ctx.output.finish])
        if ctx.parsed.options.get("include_usage"):
            out += self._prefix(ctx) + b"[]," + b'"usage":' + dumps(_usage(ctx, sent)) + b"}\n\n"
        return out + b"data: [DONE]\n\n"

    def malformed(self, ctx: Ctx) -> bytes:
        return self._prefix(ctx) + b'[{"index":0,"delta":{"content":"unterminated\n\n'


class OpenAIWire:
    """OpenAI Chat Completions: parsing, errors, full responses."""

    api: ApiName = "openai"
    stream_format: StreamFormat = OpenAIStream()

    def parse(self, request: web.Request, body: dict[str, Any]) -> ParsedRequest:
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        stream_options = body.get("stream_options") or {}
        return ParsedRequest(
            model=str(body.get("model", "")),
            stream=bool(body.get("stream", False)),
            api_key=_bearer(request),
            max_tokens=max_tokens if isinstance(max_tokens, int) else None,
            messages=body.get("messages", []),
            extra_input=(body.get("tools"),),
            options={"include_usage": bool(isinstance(stream_options, dict)
                                           and stream_options.get("include_usage"))},
        )

    def error(self, spec: ErrorSpec, request_id: str) -> web.Response:
        err_type, code = _TYPE_CODE[spec.kind]
        body = {"error": {"message": spec.message, "type": err_type, "param": None, "code": code}}
        headers = {"x-request-id": request_id, "request-id": request_id, **spec.headers}
        return web.Response(status=spec.status or _STATUS[spec.kind], body=dumps(body),
                            content_type="application/json", headers=headers)

    def context_error(self, tokens: int, window: int) -> ErrorSpec:
        return ErrorSpec("context", (
            f"This model's maximum context length is {window} tokens. However, your messages "
            f"resulted in {tokens} tokens. Please reduce the length of the messages."))

    def body(self, ctx: Ctx) -> dict[str, Any]:
        out = ctx.output
        message: dict[str, Any] = {"role": "assistant", "content": out.text, "refusal": None}
        if out.is_tool_call:
            message["content"] = None
            message["tool_calls"] = [{
                "id": _call_id(ctx), "type": "function",
                "function": {"name": out.tool_name, "arguments": out.text},
            }]
        return {
            "id": _completion_id(ctx), "object": "chat.completion", "created": ctx.created,
            "model": ctx.parsed.model, "system_fingerprint": "fp_sim",
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": _FINISH[out.finish]}],
            "usage": _usage(ctx, len(out.chunks)),
        }


def models_response(names: list[str], created: int) -> dict[str, Any]:
    """`GET /v1/models` body, shared by the OpenAI and Anthropic wires' callers."""
    return {"object": "list", "data": [
        {"id": n, "object": "model", "created": created, "owned_by": "fleetbench-sim"} for n in names
    ]}
