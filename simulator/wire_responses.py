"""OpenAI Responses wire format (`POST /v1/responses`), the API of OpenAI's Codex models.

Why its own wire and not a flag on the chat one: the Responses stream is a typed event
sequence (`response.created` ... `response.completed`) whose terminal event carries the
whole response, usage and reasoning tokens included; a client must treat anything short of
`response.completed` (or `response.incomplete`) as broken. Timing, limits, faults and truth
come from the shared pipeline, so `@high` vs `@low` differ only by the brain's reasoning
settings (`BrainConfig.reasoning_tokens`, `reasoning_ms_per_token`).

Reasoning: once the prompt is read, a reasoning item is opened, then (when the brain's
reasoning is visible, as open-weight reasoning models stream it) one
`response.reasoning_text.delta` per reasoning token, paced by `reasoning_ms_per_token`, then
the item is closed and the answer's item opened: OpenAI's hidden reasoning is the same
without the deltas (the default here). The truth stamps each of those moments.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulator.config import ApiName
from simulator.wire import Ctx, ErrorSpec, ParsedRequest, StreamFormat, dumps
from simulator.wire_openai import OpenAIWire

_CHAT = OpenAIWire()  # same error envelope and status codes as Chat Completions


def _bearer(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[7:] if auth.lower().startswith("bearer ") else None


def _rid(ctx: Ctx) -> str:
    return ctx.truth.request_id.replace("-", "_")


def _item_id(ctx: Ctx) -> str:
    prefix = "fc" if ctx.output.is_tool_call else "msg"
    return f"{prefix}_{_rid(ctx)}"


def _output_index(ctx: Ctx) -> int:
    """The answer item follows the reasoning item when the model reasoned."""
    return 1 if ctx.reasoning_tokens else 0


def _effort(ctx: Ctx) -> str | None:
    effort = ctx.parsed.options.get("reasoning_effort")
    return effort if isinstance(effort, str) else None


def _usage(ctx: Ctx, visible: int) -> dict[str, Any]:
    """`output_tokens` includes reasoning, as OpenAI bills it; the detail splits it out."""
    output = visible + ctx.reasoning_tokens
    return {
        "input_tokens": ctx.input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": ctx.reasoning_tokens},
        "total_tokens": ctx.input_tokens + output,
    }


def _answer_item(ctx: Ctx, text: str, status: str) -> dict[str, Any]:
    if ctx.output.is_tool_call:
        return {"id": _item_id(ctx), "type": "function_call", "call_id": f"call_{_rid(ctx)}",
                "name": ctx.output.tool_name, "arguments": text, "status": status}
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}] if text else []
    return {"id": _item_id(ctx), "type": "message", "role": "assistant", "status": status,
            "content": content}


def _reasoning_piece(index: int) -> str:
    return f"step {index + 1}; "


def _reasoning_text(ctx: Ctx) -> str:
    return "".join(_reasoning_piece(i) for i in range(ctx.reasoning_tokens))


def _reasoning_item(ctx: Ctx, *, done: bool = True) -> dict[str, Any]:
    item: dict[str, Any] = {"id": f"rs_{_rid(ctx)}", "type": "reasoning", "summary": []}
    if ctx.reasoning_visible:
        item["content"] = [{"type": "reasoning_text", "text": _reasoning_text(ctx) if done else ""}]
    return item


def _response(ctx: Ctx, *, done: bool, visible: int = 0) -> dict[str, Any]:
    """The `response` object: in progress (no output yet) or final (output and usage)."""
    incomplete = done and ctx.output.finish == "length"
    status = "in_progress" if not done else ("incomplete" if incomplete else "completed")
    output: list[dict[str, Any]] = []
    if done:
        if ctx.reasoning_tokens:
            output.append(_reasoning_item(ctx))
        text = "".join(ctx.output.chunks[:visible])
        output.append(_answer_item(ctx, text, "incomplete" if incomplete else "completed"))
    effort = _effort(ctx)
    return {
        "id": f"resp_{_rid(ctx)}", "object": "response", "created_at": ctx.created, "status": status,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": ctx.parsed.options.get("instructions"),
        "max_output_tokens": ctx.parsed.max_tokens, "model": ctx.parsed.model, "output": output,
        "parallel_tool_calls": True,
        "reasoning": {"effort": effort, "summary": None} if effort else None,
        "temperature": 1.0, "text": {"format": {"type": "text"}}, "tool_choice": "auto",
        "tools": [], "top_p": 1.0,
        "usage": _usage(ctx, visible) if done else None,
    }


def _event(kind: str, seq: int, data: dict[str, Any]) -> bytes:
    payload = {"type": kind, "sequence_number": seq, **data}
    return b"event: " + kind.encode() + b"\ndata: " + dumps(payload) + b"\n\n"


class ResponsesStream:
    """created, in_progress, [reasoning item: added, reasoning deltas, done], answer item
    added, part added, deltas..., done events, then `response.completed` (or
    `response.incomplete` when max tokens cut it)."""

    content_type = "text/event-stream"
    reasoning_text_default = False  # OpenAI shows no reasoning text unless asked for summaries

    @staticmethod
    def _reasoning_events(ctx: Ctx) -> int:
        if not ctx.reasoning_tokens:
            return 0
        return 2 + (ctx.reasoning_tokens + 1 if ctx.reasoning_visible else 0)

    def _head_events(self, ctx: Ctx) -> int:
        """Events before the first answer delta (its sequence number)."""
        return 4 + self._reasoning_events(ctx) - (1 if ctx.output.is_tool_call else 0)

    def _answer_opening(self, ctx: Ctx, seq: int) -> list[bytes]:
        index = _output_index(ctx)
        frames = [_event("response.output_item.added", seq,
                         {"output_index": index, "item": _answer_item(ctx, "", "in_progress")})]
        if not ctx.output.is_tool_call:
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            frames.append(_event("response.content_part.added", seq + 1, {
                "item_id": _item_id(ctx), "output_index": index, "content_index": 0, "part": part}))
        return frames

    def head(self, ctx: Ctx) -> bytes:
        frames = [_event(kind, seq, {"response": _response(ctx, done=False)})
                  for seq, kind in enumerate(("response.created", "response.in_progress"))]
        if not ctx.reasoning_tokens:  # else the answer opens when the reasoning closes
            frames += self._answer_opening(ctx, 2)
        return b"".join(frames)

    def reasoning_start(self, ctx: Ctx) -> bytes:
        return _event("response.output_item.added", 2,
                      {"output_index": 0, "item": _reasoning_item(ctx, done=False)})

    def reasoning_chunk(self, ctx: Ctx, index: int) -> bytes:
        return _event("response.reasoning_text.delta", 3 + index, {
            "item_id": f"rs_{_rid(ctx)}", "output_index": 0, "content_index": 0,
            "delta": _reasoning_piece(index)})

    def reasoning_end(self, ctx: Ctx) -> bytes:
        seq = 3
        frames = []
        if ctx.reasoning_visible:
            seq += ctx.reasoning_tokens
            frames.append(_event("response.reasoning_text.done", seq, {
                "item_id": f"rs_{_rid(ctx)}", "output_index": 0, "content_index": 0,
                "text": _reasoning_text(ctx)}))
            seq += 1
        frames.append(_event("response.output_item.done", seq, {"output_index": 0, "item": _reasoning_item(ctx)}))
        return b"".join(frames + self._answer_opening(ctx, seq + 1))

    def _delta_prefix(self, ctx: Ctx) -> bytes:
        prefix = ctx.scratch.get("responses")
        if prefix is None:
            kind = ("response.function_call_arguments.delta" if ctx.output.is_tool_call
                    else "response.output_text.delta")
            extra = b"" if ctx.output.is_tool_call else b',"content_index":0,"logprobs":[]'
            prefix = ctx.scratch["responses"] = (
                b"event: " + kind.encode() + b'\ndata: {"type":"' + kind.encode() + b'","item_id":'
                + dumps(_item_id(ctx)) + b',"output_index":' + str(_output_index(ctx)).encode()
                + extra + b',"sequence_number":')
        return prefix

    def chunk(self, ctx: Ctx, index: int, piece: str) -> bytes:
        # Hot path (one call per token): splice sequence number and text into a template.
        seq = self._head_events(ctx) + index
        return self._delta_prefix(ctx) + str(seq).encode() + b',"delta":' + dumps(piece) + b"}\n\n"

    def tail(self, ctx: Ctx, sent: int) -> bytes:
        seq = self._head_events(ctx) + sent
        text = "".join(ctx.output.chunks[:sent])
        final = _response(ctx, done=True, visible=sent)
        item = final["output"][-1]
        index, item_id = _output_index(ctx), _item_id(ctx)
        frames = []
        if ctx.output.is_tool_call:
            frames.append(_event("response.function_call_arguments.done", seq, {
                "item_id": item_id, "output_index": index, "name": ctx.output.tool_name,
                "arguments": text}))
            seq += 1
        else:
            where = {"item_id": item_id, "output_index": index, "content_index": 0}
            frames.append(_event("response.output_text.done", seq, {**where, "text": text, "logprobs": []}))
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            frames.append(_event("response.content_part.done", seq + 1, {**where, "part": part}))
            seq += 2
        frames.append(_event("response.output_item.done", seq, {"output_index": index, "item": item}))
        terminal = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
        frames.append(_event(terminal, seq + 1, {"response": final}))
        return b"".join(frames)

    def malformed(self, ctx: Ctx) -> bytes:
        return (b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
                b'"delta":"unterminated\n\n')


def _input_messages(value: object) -> list[Any]:
    """`input` is a string (one user turn) or a list of input items; both feed the brains."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    return list(value) if isinstance(value, list) else []


class ResponsesWire:
    """OpenAI Responses: parsing (`input`, `instructions`, `reasoning.effort`), errors, bodies."""

    api: ApiName = "responses"
    stream_format: StreamFormat = ResponsesStream()

    def parse(self, request: web.Request, body: dict[str, Any]) -> ParsedRequest:
        max_tokens = body.get("max_output_tokens")
        reasoning = body.get("reasoning")
        effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
        instructions = body.get("instructions")
        return ParsedRequest(
            model=str(body.get("model", "")),
            stream=bool(body.get("stream", False)),
            api_key=_bearer(request),
            max_tokens=max_tokens if isinstance(max_tokens, int) else None,
            messages=_input_messages(body.get("input")),
            extra_input=(instructions, body.get("tools")),
            options={"reasoning_effort": effort if isinstance(effort, str) else None,
                     "instructions": instructions if isinstance(instructions, str) else None},
        )

    def error(self, spec: ErrorSpec, request_id: str) -> web.Response:
        return _CHAT.error(spec, request_id)

    def context_error(self, tokens: int, window: int) -> ErrorSpec:
        return ErrorSpec("context", (
            f"Your input exceeds the context window of this model ({window} tokens; "
            f"the input has {tokens} tokens). Please adjust your input and try again."))

    def body(self, ctx: Ctx) -> dict[str, Any]:
        return _response(ctx, done=True, visible=len(ctx.output.chunks))
