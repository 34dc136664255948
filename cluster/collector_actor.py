"""The collector: the only writer of a run's records, pinned to the driver's node.

Why one writer: exactly one terminal record per key is easiest to guarantee where every
record passes through one process that dedups by key and fsyncs before acknowledging.

Why it only writes: summaries, aggregation and calibration run after the run, in the
driver (agents/run_summary.py, agents/post_run.py); a failure there can never touch the
records. Why group commit: batches from every subagent that arrive while one fsync runs
are written together by the next, so the cost per record falls as load rises.

Surviving its own death: the actor restarts (Ray retries the `add` calls that were in
flight) and rebuilds its key set from results.jsonl, so a key is done exactly when its
line is durable, whoever wrote it. A write that fails (disk full, EIO) puts the collector
in a failed state that every caller sees: the run fails loudly instead of "completing".
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path
from typing import Any

import ray

from archive.results_log import ResultsLog
from archive.store import RunDir
from harness.logs import EventLog
from harness.records import CallRecord, RecordKey
from harness.redact import default_redactor

COLLECTOR_RESTARTS = 5


class CollectorFailed(Exception):
    """The collector can no longer write durably; the run must stop and say why."""


@ray.remote(num_cpus=0, max_restarts=COLLECTOR_RESTARTS, max_task_retries=-1, max_concurrency=1000)  # type: ignore[call-overload]
class Collector:
    """Async actor: `add` calls queue their records; one writer task commits them."""

    def __init__(self, run_path: str, run_id: str) -> None:
        self._run = RunDir(Path(run_path), run_id)
        dropped = self._run.repair_results()
        self._log = ResultsLog(self._run.results_path)
        self._keys: set[RecordKey] = set()
        self._counts: dict[str, Counter[str]] = {}
        for fields in self._log.scan():
            self._keys.add(fields.key)
            self._counts.setdefault(fields.phase, Counter())[fields.status] += 1
        self._pending: set[RecordKey] = set()
        self._queue: list[tuple[list[CallRecord], asyncio.Future[int]]] = []
        self._wake: asyncio.Event | None = None
        self._writer: asyncio.Task[None] | None = None
        self._failed: str | None = None
        self._duplicates = 0
        self._events = EventLog(self._run.events_path, redact=default_redactor().redact)
        self._events.emit("collector_started", run_id=run_id, existing_records=len(self._keys),
                          torn_bytes_dropped=dropped)

    async def add(self, records: list[CallRecord]) -> int:
        """Persist the new keys (fsync'd) before returning how many were new; duplicates
        are dropped and counted. Raises CollectorFailed once a write has failed."""
        if self._failed is not None:
            raise CollectorFailed(self._failed)
        fresh: list[CallRecord] = []
        for record in records:
            key = record.key
            if key in self._keys or key in self._pending:
                self._duplicates += 1
                continue
            self._pending.add(key)
            fresh.append(record)
        if not fresh:
            return 0
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append((fresh, future))
        self._start_writer()
        return await future

    def _start_writer(self) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
        self._wake.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    async def _write_loop(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch, self._queue = self._queue, []
                records = [r for rs, _ in batch for r in rs]
                try:
                    await asyncio.to_thread(self._log.append, records)
                except OSError as exc:
                    self._fail(exc, batch)
                    return
                for record in records:
                    key = record.key
                    self._pending.discard(key)
                    self._keys.add(key)
                    self._counts.setdefault(record.phase, Counter())[record.status] += 1
                statuses = Counter(r.status for r in records)
                self._events.emit("records_written", count=len(records), **dict(statuses))
                for rs, future in batch:
                    if not future.done():
                        future.set_result(len(rs))

    def _fail(self, exc: OSError, batch: list[tuple[list[CallRecord], asyncio.Future[int]]]) -> None:
        self._failed = f"writing {self._run.results_path} failed: {exc.strerror or exc} (errno {exc.errno})"
        waiting = batch + self._queue
        self._queue = []
        for rs, future in waiting:
            for record in rs:
                self._pending.discard(record.key)
            if not future.done():
                future.set_exception(CollectorFailed(self._failed))
        try:
            self._events.emit("collector_failed", error=self._failed)
        except OSError:
            pass

    async def pid(self) -> int:
        return os.getpid()

    async def done_keys(self) -> list[RecordKey]:
        """Keys whose records are durable (never the ones still being written)."""
        return list(self._keys)

    async def status(self) -> dict[str, Any]:
        """O(phases): counts by phase and status, and whether writing has failed."""
        return {"counts": {p: {s: c.get(s, 0) for s in ("ok", "error", "skipped")} for p, c in self._counts.items()},
                "records": len(self._keys), "duplicates": self._duplicates, "failed": self._failed}

    async def counts(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = (await self.status())["counts"]
        return counts

    async def duplicates(self) -> int:
        return self._duplicates

    async def log_event(self, event: str, fields: dict[str, Any]) -> None:
        self._events.emit(event, **fields)

    async def close(self) -> dict[str, Any]:
        """Wait for every queued write; after this the driver owns the run directory."""
        while self._queue or self._pending:
            if self._failed is not None:
                break
            await asyncio.sleep(0.01)
        status = await self.status()
        self._events.emit("collector_closed", records=status["records"], duplicates_dropped=self._duplicates,
                          failed=self._failed)
        self._events.close()
        return status
