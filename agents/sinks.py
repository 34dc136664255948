"""Where finished records go. The subagent only counts an item done once its sink acked it.

Why batching with acknowledgement: the collector is remote (a Ray actor) and the only
writer; an item whose record was not acked is simply redone by the driver's recovery,
and the collector's key-level dedup absorbs the rare ack lost after a write.
"""

from __future__ import annotations

from typing import Protocol

from harness.records import CallRecord


class RecordSink(Protocol):
    async def emit(self, records: list[CallRecord]) -> None: ...


class ListSink:
    """In-memory sink for tests and plain-Python use."""

    def __init__(self) -> None:
        self.records: list[CallRecord] = []

    async def emit(self, records: list[CallRecord]) -> None:
        self.records.extend(records)
