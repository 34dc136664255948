"""A phase subagent's logic as a plain async class: run work items, emit acked records.

Why no Ray here: the same class runs inside a Ray actor on any node (cluster/) and in a
plain event loop in tests and scripts; what differs is only which limiter and which sink
it is given.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence

import msgspec
import structlog

from agents.phases.base import Phase
from agents.plan import WorkItem
from agents.providers import ResolvedProvider
from agents.sinks import RecordSink
from harness.call import CallOutcome, execute_call
from harness.limits import Limiter
from harness.records import CallRecord
from harness.retry import RetryPolicy
from harness.seam import ProviderAPI

log = structlog.get_logger("fleetbench.phase")


class PhaseReport(msgspec.Struct, kw_only=True):
    phase: str
    worker: str
    ok: int = 0
    error: int = 0
    skipped: int = 0

    def count(self, record: CallRecord) -> None:
        if record.status == "ok":
            self.ok += 1
        elif record.status == "error":
            self.error += 1
        else:
            self.skipped += 1


def outcome_to_record(item: WorkItem, outcome: CallOutcome, *, run_id: str, worker: str,
                      started_at: float, extra: dict[str, object],
                      cost_usd: float | None) -> CallRecord:
    response = outcome.response
    return CallRecord(
        run_id=run_id, phase=item.phase, item_id=item.item_id, model=item.model,
        variant=item.variant, repeat=item.repeat, status="ok" if outcome.status == "ok" else "error",
        error_class=outcome.error_class, error_message=outcome.error_message,
        attempts=outcome.attempts, ttfb_ms=outcome.ttfb_ms, ttft_ms=outcome.ttft_ms,
        e2e_ms=outcome.e2e_ms, itl_p50_ms=outcome.itl_p50_ms, itl_p95_ms=outcome.itl_p95_ms,
        client_overhead_ms=outcome.client_overhead_ms,
        input_tokens=response.input_tokens if response else None,
        output_tokens=response.output_tokens if response else None,
        reasoning_tokens=response.reasoning_tokens if response else None,
        cost_usd=cost_usd, output=response.text if response else "",
        streamed=outcome.streamed, answered_by=item.model if response else None,
        request_id=response.request_id if response else None,
        started_at=started_at, worker=worker, attempt_log=outcome.attempt_log, extra=extra,
    )


class PhaseAgent:
    """Runs `items` with at most `concurrency` calls in flight; every call goes through its
    provider's limiter; records are emitted in small acked batches."""

    def __init__(self, phase: Phase, run_id: str, items: Sequence[WorkItem],
                 providers: Mapping[str, ResolvedProvider],
                 limiter_for: Callable[[ResolvedProvider], Limiter], policy: RetryPolicy,
                 sink: RecordSink, *, concurrency: int, worker: str, holder: str,
                 flush_interval_s: float = 0.2, flush_size: int = 32) -> None:
        self.phase = phase
        self.run_id = run_id
        self.items = list(items)
        self.providers = providers
        self.limiter_for = limiter_for
        self.policy = policy
        self.sink = sink
        self.concurrency = max(1, concurrency)
        self.worker = worker
        self.holder = holder
        self.flush_interval_s = flush_interval_s
        self.flush_size = flush_size
        self._pending: list[CallRecord] = []
        self._wake = asyncio.Event()
        self._closing = False
        self.report = PhaseReport(phase=phase.name, worker=worker)

    async def run(self) -> PhaseReport:
        apis: dict[str, ProviderAPI] = {}
        limiters: dict[str, Limiter] = {}
        for name in {item.model_ref.provider for item in self.items}:
            apis[name] = self.providers[name].build()
            limiters[name] = self.limiter_for(self.providers[name])
            await apis[name].warm_up()
        gate = asyncio.Semaphore(self.concurrency)
        flusher = asyncio.create_task(self._flush_loop())
        try:
            async def one(item: WorkItem) -> None:
                async with gate:
                    provider = item.model_ref.provider
                    record = await self._call(item, apis[provider], limiters[provider])
                self._pending.append(record)
                if len(self._pending) >= self.flush_size:
                    self._wake.set()

            await asyncio.gather(*(one(item) for item in self.items))
        finally:
            self._closing = True
            self._wake.set()
            await flusher  # drains every pending record; never cancelled mid-emit
            for api in apis.values():
                await api.aclose()
        return self.report

    async def _call(self, item: WorkItem, api: ProviderAPI, limiter: Limiter) -> CallRecord:
        started_at = time.time()
        outcome = await execute_call(api, item.request, limiter, self.policy, holder=self.holder)
        extra = self.phase.score(item, outcome.response.text) if outcome.response else {}
        cost = 0.0 if item.model_ref.provider == "sim" else None
        record = outcome_to_record(item, outcome, run_id=self.run_id, worker=self.worker,
                                   started_at=started_at, extra=extra, cost_usd=cost)
        log.debug("call_done", key=item.key, status=record.status, error_class=record.error_class)
        return record

    async def _flush_loop(self) -> None:
        while not self._closing:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.flush_interval_s)
            except TimeoutError:
                pass
            self._wake.clear()
            await self._flush()
        await self._flush()

    async def _flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        await self.sink.emit(batch)
        for record in batch:
            self.report.count(record)
