"""Ground-truth records: what the simulator really did, per request.

Why this exists: the harness measures TTFT, errors and token counts from the client
side; tests compare those measurements with these records, taken on the same
CLOCK_MONOTONIC (`time.monotonic_ns()`), so measured >= truth must hold within a few ms.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class RequestTruth:
    """One request, accepted or not. Timestamps are `time.monotonic_ns()` values.

    `first_content_ns` is stamped just before the first *content* chunk (never the
    role-only chunk) is handed to the socket: no client can see that chunk earlier, so it
    is a lower bound for any client's TTFT (a stamp after the write could land after a
    fast client already read it).
    """

    seq: int
    model_seq: int
    request_id: str
    api: str
    model: str
    stream: bool
    arrival_ns: int
    headers_sent_ns: int | None = None
    first_content_ns: int | None = None
    end_ns: int | None = None
    status: int | None = None
    fault: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    client_disconnected: bool = False
    reasoning_tokens: int = 0  # reasoning tokens billed (Responses effort, Anthropic thinking)
    # a streamed reasoning: opened, its first token (None when hidden), closed
    reasoning_start_ns: int | None = None
    first_reasoning_ns: int | None = None
    reasoning_end_ns: int | None = None

    @property
    def ttft_ms(self) -> float | None:
        """Simulator-side time to first content token, from arrival."""
        if self.first_content_ns is None:
            return None
        return (self.first_content_ns - self.arrival_ns) / 1e6

    @property
    def reasoning_ms(self) -> float | None:
        """Simulator-side duration of the streamed reasoning, from opening to closing it."""
        if self.reasoning_start_ns is None or self.reasoning_end_ns is None:
            return None
        return (self.reasoning_end_ns - self.reasoning_start_ns) / 1e6

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class TruthLog:
    """Sequence counters and the list of records. Only touched from the server's loop."""

    records: list[RequestTruth] = field(default_factory=list)
    _seq: int = 0
    _model_seq: dict[str, int] = field(default_factory=dict)

    def open(self, api: str, model: str, stream: bool, arrival_ns: int) -> RequestTruth:
        """Allocate global and per-model sequence numbers and store a new record."""
        self._seq += 1
        model_seq = self._model_seq.get(model, 0) + 1
        self._model_seq[model] = model_seq
        rec = RequestTruth(
            seq=self._seq, model_seq=model_seq, request_id=f"sim-{self._seq}", api=api,
            model=model, stream=stream, arrival_ns=arrival_ns,
        )
        self.records.append(rec)
        return rec

    def reset(self) -> None:
        """Forget records and per-model counters. The global seq keeps growing so request
        ids stay unique across resets (a stale id can never be confused with a new one)."""
        self.records.clear()
        self._model_seq.clear()
