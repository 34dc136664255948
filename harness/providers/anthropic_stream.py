"""Reading an Anthropic Messages stream: the state its events build up, and the events read
straight off aiohttp (`sse`) for the hot path.

Why our own reader next to the SDK's: profiled against the simulator (64-token streams,
`benchmarks/stream_profile.py`, docs/stream_cpu.md), the anthropic SDK's per-event models
cost ~1.2 ms of a call's ~1.7 ms client CPU; msgspec decoding into the fields we read
costs a few microseconds an event. Errors stay the SDK's: an `error` event becomes the
exception the SDK builds for it, so `classify` maps it as before.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import msgspec

from harness.providers.sse import sdk_response, sse_events
from harness.timing import CallClock

_THINKING_BLOCKS = frozenset({"thinking", "redacted_thinking"})


class StreamState:
    """What a Messages stream's events say so far: text, tool calls being assembled, usage,
    end. Reads the SDK's event objects and our msgspec `Event`s alike (same field names)."""

    def __init__(self, clock: CallClock) -> None:
        self.clock = clock  # marked here for thinking; content is marked by the caller
        self.thinking_blocks: set[int] = set()
        self.parts: list[str] = []
        self.tools: dict[int, dict[str, Any]] = {}
        self.stop_reason: str | None = None
        self.stopped = False
        self.message_id: str | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.thinking_tokens: int | None = None

    def feed(self, event: Any) -> bool:
        """Take one event; True when it carried content (text or tool-argument bytes).
        Thinking (its block opened, its text, its block closed) is marked on the clock."""
        kind = event.type
        if kind == "message_start":
            message = event.message
            self.message_id = message.id
            self.input_tokens = message.usage.input_tokens
            self.output_tokens = message.usage.output_tokens
        elif kind == "content_block_start":
            block = event.content_block
            if block.type in _THINKING_BLOCKS:
                self.thinking_blocks.add(event.index)
                self.clock.mark_reasoning_start()
            elif block.type == "tool_use":
                self.tools[event.index] = {"id": block.id, "name": block.name, "json": ""}
            elif block.type == "text" and block.text:
                self.parts.append(block.text)
                return True
        elif kind == "content_block_delta":
            delta = event.delta
            if delta.type == "text_delta" and delta.text:
                self.parts.append(delta.text)
                return True
            if delta.type == "input_json_delta" and delta.partial_json:
                self.tools.setdefault(event.index, {"id": None, "name": "", "json": ""})
                self.tools[event.index]["json"] += delta.partial_json
                return True
            if delta.type == "thinking_delta" and delta.thinking:
                self.clock.mark_reasoning()
        elif kind == "content_block_stop":
            if event.index in self.thinking_blocks:
                self.clock.mark_reasoning_end()
        elif kind == "message_delta":
            self.stop_reason = event.delta.stop_reason or self.stop_reason
            usage = event.usage
            self.output_tokens = usage.output_tokens  # cumulative, so the last one wins
            if usage.input_tokens is not None:
                self.input_tokens = usage.input_tokens
            if usage.output_tokens_details is not None:
                self.thinking_tokens = usage.output_tokens_details.thinking_tokens
        elif kind == "message_stop":
            self.stopped = True
        return False

    @property
    def visible_output_tokens(self) -> int | None:
        """Output tokens without the thinking (the API counts thinking in `output_tokens`):
        ours are the visible answer, with reasoning billed apart, as for OpenAI's."""
        if self.output_tokens is None or not self.thinking_tokens:
            return self.output_tokens
        return max(self.output_tokens - self.thinking_tokens, 0)

    def tool_calls(self) -> list[dict[str, Any]]:
        """Finished tool calls as `{"id", "name", "arguments": {...}}`, in block order."""
        return [{"id": t["id"], "name": t["name"], "arguments": json.loads(t["json"]) if t["json"] else {}}
                for _, t in sorted(self.tools.items())]


# The fields of the Messages events that `StreamState` reads; msgspec ignores the rest.
class _OutputDetails(msgspec.Struct):
    thinking_tokens: int | None = None


class _Usage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    output_tokens_details: _OutputDetails | None = None


class _Message(msgspec.Struct):
    id: str | None = None
    usage: _Usage = msgspec.field(default_factory=_Usage)


class _Block(msgspec.Struct):
    type: str = ""
    id: str | None = None
    name: str = ""
    text: str = ""


class _Delta(msgspec.Struct):
    type: str | None = None
    text: str = ""
    thinking: str = ""
    partial_json: str = ""
    stop_reason: str | None = None


class Event(msgspec.Struct):
    type: str
    index: int = 0
    message: _Message | None = None
    content_block: _Block | None = None
    delta: _Delta | None = None
    usage: _Usage | None = None


_decode_event = msgspec.json.Decoder(Event).decode


async def raw_events(response: aiohttp.ClientResponse, client: Any, url: str) -> AsyncIterator[Event]:
    """The stream's events as the SDK yields them: `ping` and unnamed events skipped, an
    `error` event raised as the SDK's own status error (status 200, the event as its body)."""
    async for name, data in sse_events(response):
        if not name or name == b"ping":
            continue
        if name == b"error":
            text = data.decode("utf-8", "replace")
            try:
                body: object = json.loads(text)
                message = f"{body}"
            except ValueError:
                body, message = text, text or f"Error code: {response.status}"
            raise client._make_status_error(message, body=body, response=sdk_response(response, url))
        if data:
            yield _decode_event(data)
