"""Turn suites x models x variants x repeats into work items, the unit of exactly-once.

Why a flat list of keyed items: the collector, `--resume` and the driver's restart of a
dead subagent all reason about the same key (phase, item, model, variant, repeat), so the
plan must be deterministic and each item must carry everything needed to make its call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from harness.model_ref import ModelRef
from harness.records import RecordKey, record_key
from harness.seam import CallRequest, Message


class WorkItem(msgspec.Struct, frozen=True, kw_only=True):
    """One call to make. `model` is the full `provider/model[@variant]` name; `variant` is the
    phase's own variant (context length, prompt style), "" when the phase has none."""

    phase: str
    item_id: str
    model: str
    variant: str = ""
    repeat: int = 0
    category: str = "general"
    request: CallRequest
    meta: dict[str, object] = msgspec.field(default_factory=dict)

    @property
    def key(self) -> RecordKey:
        return record_key(self.phase, self.item_id, self.model, self.variant, self.repeat)

    @property
    def model_ref(self) -> ModelRef:
        return ModelRef.parse(self.model)


def build_request(model: ModelRef, prompt: str, *, system: str | None, max_tokens: int,
                  temperature: float | None, stream: bool, timeout_s: float) -> CallRequest:
    """A provider-neutral request; the adapter maps `model.model` and `model.variant`."""
    messages = [Message(role="system", content=system)] if system else []
    messages.append(Message(role="user", content=prompt))
    return CallRequest(model=model.model, variant=model.variant, messages=messages,
                       max_tokens=max_tokens, temperature=temperature, stream=stream,
                       timeout_s=timeout_s)


def expand_repeats(items: Iterable[WorkItem], repeat: int) -> list[WorkItem]:
    """Each repeat is its own key: repeats are independent samples, never cache hits."""
    out: list[WorkItem] = []
    for item in items:
        for r in range(repeat):
            out.append(msgspec.structs.replace(item, repeat=r))
    return out


def remaining(items: Sequence[WorkItem], done: set[RecordKey]) -> list[WorkItem]:
    """What is left to do after a crash or an interruption: never redo a finished key."""
    return [item for item in items if item.key not in done]


def check_unique(items: Sequence[WorkItem]) -> None:
    seen: set[RecordKey] = set()
    for item in items:
        if item.key in seen:
            raise ValueError(f"plan has a duplicate key {item.key}")
        seen.add(item.key)
