"""What a simulated model "says": brain lookup, output chunks and token estimates.

Why wire-agnostic: every API module renders the same `Output` in its own format, so a
new API (e.g. OpenAI Responses) is one more renderer and never touches the content rules.
"""

from __future__ import annotations

import fnmatch
import json
import math
from dataclasses import dataclass
from typing import Any, Literal

from simulator.brains_bfcl import bfcl_native_call, bfcl_text
from simulator.brains_scripted import choice_text, drift_text
from simulator.config import BrainConfig, SimConfig

FinishKind = Literal["stop", "length", "tool_call"]


@dataclass(frozen=True, slots=True)
class Output:
    """The response content split into the chunks that will be streamed.

    For tool calls, `chunks` are pieces of the JSON argument string (streamed as argument
    deltas); `tool_name`/`tool_arguments` carry the complete call.
    """

    chunks: list[str]
    finish: FinishKind
    tool_name: str | None = None
    tool_arguments: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    @property
    def is_tool_call(self) -> bool:
        return self.tool_name is not None


def resolve_brain(cfg: SimConfig, model: str) -> BrainConfig | None:
    """Exact name first, then the first fnmatch pattern that matches (config order);
    None means "unknown model" and the caller decides between default_brain and 404."""
    brain = cfg.models.get(model)
    if brain is not None:
        return brain
    for pattern, candidate in cfg.models.items():
        if fnmatch.fnmatchcase(model, pattern):
            return candidate
    return None


def split_chunks(text: str, n: int) -> list[str]:
    """Split text into at most n non-empty chunks at word boundaries where possible.

    Why not exact tokenisation: the harness only needs chunk count == token count; the
    text of each chunk just has to concatenate back to the original.
    """
    if not text:
        return []
    pieces: list[str] = []
    word = ""
    for ch in text:
        if ch == " " and word.strip():
            pieces.append(word)
            word = ch
        else:
            word += ch
    if word:
        pieces.append(word)
    if len(pieces) >= n:
        head, tail = pieces[: n - 1], pieces[n - 1 :]
        return [*head, "".join(tail)]
    # Fewer words than tokens: split characters evenly instead, if that gets us closer.
    if len(text) <= len(pieces):
        return pieces
    count = min(n, len(text))
    size = math.ceil(len(text) / count)
    return [text[i : i + size] for i in range(0, len(text), size)]


def make_output(brain: BrainConfig, last_user: str, max_tokens: int | None, *,
                prompt_tokens: int = 0, model_seq: int = 1, prompt: tuple[object, ...] = (),
                tools: object = None) -> Output:
    """Build the chunks for one response; `max_tokens` caps them (finish = "length").

    `prompt_tokens` (the pipeline's estimate of the whole input) drives `drift`, and
    `model_seq` (the request's per-model sequence number) drives `choices`; both default to
    "a short first request" for callers that have neither. `prompt` (the request's messages
    and other input) and `tools` (the tools it offered natively) drive `bfcl`.
    """
    spec = brain.output
    n = brain.output_tokens
    if spec.kind == "tool_call":
        args = json.dumps(spec.tool_arguments)
        chunks = split_chunks(args, n)
        return Output(chunks, "tool_call", spec.tool_name, dict(spec.tool_arguments))
    if spec.kind == "bfcl" and tools:  # offered natively: its first call as a tool call
        call = bfcl_native_call(last_user, spec.bfcl_answer, tools)
        if call is not None:
            return Output(split_chunks(json.dumps(call[1]), n), "tool_call", call[0], call[1])
    if spec.kind == "json":
        text = json.dumps(spec.json_template)
    elif spec.kind == "echo":
        text = last_user
    elif spec.kind == "drift":
        text = drift_text(spec, prompt_tokens)
    elif spec.kind == "refusal":
        text = spec.refusal_text
    elif spec.kind == "choices":
        text = choice_text(spec, model_seq)
    elif spec.kind == "bfcl":  # no tools offered natively (or no call to make): prompt-mode text
        context: list[str] = []
        for part in prompt:
            _collect_text(part, context)
        text = bfcl_text(last_user, spec.bfcl_answer, "\n".join(context))
    else:
        text = spec.text
    chunks = split_chunks(text, n)
    if max_tokens is not None and len(chunks) > max_tokens:
        return Output(chunks[: max(max_tokens, 0)], "length")
    return Output(chunks, "stop")


def _collect_text(value: object, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in ("type", "role", "id", "cache_control", "tool_use_id", "tool_call_id"):
                continue
            _collect_text(item, out)
    elif isinstance(value, list):
        for item in value:
            _collect_text(item, out)


def estimate_tokens(brain: BrainConfig, *parts: object) -> int:
    """ceil(total characters of all text / chars_per_token), over messages, system and tools."""
    texts: list[str] = []
    for part in parts:
        _collect_text(part, texts)
    return math.ceil(sum(len(t) for t in texts) / brain.chars_per_token)


def last_user_text(messages: object) -> str:
    """Text of the last user message (string content or a list of text blocks)."""
    if not isinstance(messages, list):
        return ""
    for msg in reversed(messages):
        if isinstance(msg, dict) and msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, str):
                return content
            texts: list[str] = []
            if isinstance(content, list):
                for block in content:
                    if isinstance(block, dict) and isinstance(block.get("text"), str):
                        texts.append(block["text"])
            return "".join(texts)
    return ""
