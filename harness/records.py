"""The result record: one terminal outcome per (phase, item, model, variant, repeat).

Why msgspec: records are the hot path of the collector and the archive (JSONL), and
msgspec encodes/decodes them an order of magnitude faster than json + dataclasses.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from harness.timing import CallTiming

Status = Literal["ok", "error", "skipped"]
RecordKey = tuple[str, str, str, str, int]


class AttemptInfo(msgspec.Struct, kw_only=True):
    """One HTTP attempt inside a call: what happened and how long we waited after it."""

    attempt: int
    error_class: str | None = None
    status: int | None = None
    request_id: str | None = None
    retry_after_s: float | None = None
    waited_s: float = 0.0


class CallRecord(CallTiming, kw_only=True):
    """A terminal result. Field names are the archive's public schema; the timing fields
    are inherited from `CallTiming` and stay top-level keys of the JSON line."""

    run_id: str
    phase: str
    item_id: str
    model: str
    variant: str = ""
    repeat: int = 0
    category: str = "general"
    status: Status
    error_class: str | None = None
    error_message: str | None = None
    attempts: int = 0
    # open-loop runs: how late the final attempt left against the call's scheduled send
    # (queueing in the client and the limiter included); TTFT or E2E plus this is the
    # latency from the schedule, as a user arriving on time would feel it
    schedule_lag_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost_usd: float | None = None
    output: str = ""
    streamed: bool = True
    answered_by: str | None = None
    request_id: str | None = None
    started_at: float | None = None
    worker: str | None = None
    attempt_log: list[AttemptInfo] = msgspec.field(default_factory=list)
    extra: dict[str, object] = msgspec.field(default_factory=dict)

    @property
    def key(self) -> RecordKey:
        return record_key(self.phase, self.item_id, self.model, self.variant, self.repeat)


def record_key(phase: str, item_id: str, model: str, variant: str, repeat: int) -> RecordKey:
    return (phase, item_id, model, variant, repeat)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(CallRecord)


def encode_line(record: CallRecord) -> bytes:
    """One JSONL line, newline-terminated."""
    return _encoder.encode(record) + b"\n"


def decode_line(line: bytes | str) -> CallRecord:
    return _decoder.decode(line)
