"""A phase subagent's logic as a plain async class: run work items, emit acked records.

Why no Ray here: the same class runs inside a Ray actor on any node (cluster/) and in a
plain event loop in tests and scripts; what differs is only which limiter and which sink
it is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping, Sequence

import msgspec
import structlog

from agents.load import LoadShape
from agents.phases.base import Phase
from agents.plan import WorkItem
from agents.providers import ApiKind, ResolvedProvider
from agents.sinks import RecordSink
from harness.call import CallOutcome
from harness.catalogue import Catalogue, CatalogueEntry, cost_usd
from harness.errors import ErrorClass
from harness.fallback import FallbackTarget, call_with_fallback
from harness.filler import cl100k_counter
from harness.limit_contract import Limiter
from harness.loop_watch import LoopWatch
from harness.records import CallRecord
from harness.redact import default_redactor
from harness.retry import RetryPolicy
from harness.seam import ProviderAPI, ProviderResponse
from harness.timing import copy_timing, percentile

log = structlog.get_logger("fleetbench.phase")


class PhaseReport(msgspec.Struct, kw_only=True):
    phase: str
    worker: str
    ok: int = 0
    error: int = 0
    skipped: int = 0
    # the client's own health: event-loop lag, and (open loop) how late sends left
    loop_lag_p95_ms: float | None = None
    loop_lag_max_ms: float | None = None
    schedule_lag_p95_ms: float | None = None  # due -> on the wire (our limiter's waits included)
    dispatch_lag_p95_ms: float | None = None  # due -> the call began (the client's own lateness)
    offered_rate: float | None = None

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
    record = CallRecord(
        run_id=run_id, phase=item.phase, item_id=item.item_id, model=item.model,
        variant=item.variant, repeat=item.repeat, category=item.category, status="ok" if outcome.status == "ok" else "error",
        error_class=outcome.error_class, error_message=outcome.error_message,
        attempts=outcome.attempts,
        input_tokens=response.input_tokens if response else None,
        output_tokens=response.output_tokens if response else None,
        reasoning_tokens=response.reasoning_tokens if response else None,
        cost_usd=cost_usd, output=response.text if response else "",
        streamed=outcome.streamed, answered_by=item.model if response else None,
        request_id=response.request_id if response else None,
        started_at=started_at, worker=worker, attempt_log=outcome.attempt_log, extra=extra,
    )
    copy_timing(outcome, record)
    return record


def warm_targets(items: Iterable[WorkItem]) -> list[tuple[str, str]]:
    """The (provider, model id) pairs these items call: what to build and warm up first."""
    return list(dict.fromkeys((item.model_ref.provider, item.request.model) for item in items))


def fill_missing_usage(item: WorkItem, response: ProviderResponse) -> None:
    """The provider's usage where it gave one, else counted with cl100k (and said so)."""
    count = cl100k_counter()
    if response.input_tokens is None:
        response.input_tokens = sum(count(m.content) for m in item.request.messages)
        response.usage_counted = True
    if response.output_tokens is None:
        response.output_tokens = count(response.text)
        response.usage_counted = True


class PhaseAgent:
    """Runs `items` with at most `concurrency` calls in flight; every call goes through its
    provider's limiter; records are emitted in small acked batches."""

    def __init__(self, phase: Phase, run_id: str, items: Sequence[WorkItem] | AsyncIterable[WorkItem],
                 providers: Mapping[str, ResolvedProvider],
                 limiter_for: Callable[[ResolvedProvider], Limiter], policy: RetryPolicy,
                 sink: RecordSink, *, concurrency: int, worker: str, holder: str,
                 catalogue: Catalogue | None = None, warm: Sequence[tuple[str, str]] = (),
                 load: LoadShape | None = None,
                 flush_interval_s: float = 0.2, flush_size: int = 32) -> None:
        self.phase = phase
        self.run_id = run_id
        self.items = items if isinstance(items, AsyncIterable) else list(items)
        self.warm = list(warm)
        self.load = load
        self.providers = providers
        self.limiter_for = limiter_for
        self.policy = policy
        self.sink = sink
        self.concurrency = max(1, concurrency)
        self.worker = worker
        self.holder = holder
        self.catalogue = catalogue
        self.flush_interval_s = flush_interval_s
        self.flush_size = flush_size
        self._pending: list[CallRecord] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._apis: dict[tuple[str, ApiKind], ProviderAPI] = {}
        self._limiters: dict[str, Limiter] = {}
        self.report = PhaseReport(phase=phase.name, worker=worker)

    async def _api(self, provider_name: str, model_id: str) -> tuple[ProviderAPI, Limiter]:
        """One adapter per (provider, API kind) and one limiter per provider, made on first use
        and warmed up outside any timed call."""
        provider = self.providers[provider_name]
        key = (provider_name, provider.api_for(model_id))
        if key not in self._apis:
            self._apis[key] = provider.build(key[1])
            await self._apis[key].warm_up()
        if provider_name not in self._limiters:
            self._limiters[provider_name] = self.limiter_for(provider)
        return self._apis[key], self._limiters[provider_name]

    async def run(self) -> PhaseReport:
        """Adapters and warm-ups first, then the items: `concurrency` workers pulling from a
        bounded queue (closed loop), or sends on the load shape's schedule (open loop). Items
        are streamed, never all turned into coroutines at once."""
        for provider, model_id in self._warm_targets():
            await self._api(provider, model_id)
        flusher = asyncio.create_task(self._flush_loop())
        watch = LoopWatch()
        watch.start()
        try:
            if self.load is not None and self.load.open_loop:
                await self._open_loop(self.load)
            else:
                await self._closed_loop()
        finally:
            await watch.stop()
            self.report.loop_lag_p95_ms = watch.p95_ms()
            self.report.loop_lag_max_ms = watch.worst_ms
            self._closing = True
            self._wake.set()
            await flusher  # drains every pending record; never cancelled mid-emit
            for api_client in self._apis.values():
                await api_client.aclose()
            for limiter in self._limiters.values():  # hand the allowance back at once, not by TTL
                close = getattr(limiter, "aclose", None)
                if close is not None:
                    await close()
        return self.report

    def _warm_targets(self) -> list[tuple[str, str]]:
        if self.warm:
            return list(dict.fromkeys(self.warm))
        if isinstance(self.items, list):
            return list(dict.fromkeys(warm_targets(self.items)))
        return []

    async def _items(self) -> AsyncIterator[WorkItem]:
        if isinstance(self.items, list):
            for item in self.items:
                yield item
        else:
            async for item in self.items:
                yield item

    def _done(self, record: CallRecord) -> None:
        self._pending.append(record)
        if len(self._pending) >= self.flush_size:
            self._wake.set()

    async def _closed_loop(self) -> None:
        queue: asyncio.Queue[WorkItem | None] = asyncio.Queue(maxsize=2 * self.concurrency)

        async def feed() -> None:
            async for item in self._items():
                await queue.put(item)
            for _ in range(self.concurrency):
                await queue.put(None)

        async def work() -> None:
            while (item := await queue.get()) is not None:
                self._done(await self._call(item))

        feeder = asyncio.create_task(feed())
        try:
            await asyncio.gather(*(work() for _ in range(self.concurrency)))
        finally:
            feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeder

    async def _open_loop(self, load: LoadShape) -> None:
        """Send each item at its scheduled moment; `concurrency` still caps calls in flight
        (a send held back by it, or by the limiter, shows as schedule lag, never hidden)."""
        gate = asyncio.Semaphore(self.concurrency)
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[None]] = set()
        lags: list[float] = []
        dispatch: list[float] = []
        start = loop.time() + 0.01
        self.report.offered_rate = load.rate

        async def one(item: WorkItem, due_ns: int) -> None:
            dispatch.append(max(0.0, (time.monotonic_ns() - due_ns) / 1e6))
            try:
                record = await self._call(item, scheduled_ns=due_ns)
            finally:
                gate.release()
            if record.schedule_lag_ms is not None:
                lags.append(record.schedule_lag_ms)
            self._done(record)

        offsets = load.offsets()
        async for item in self._items():
            at = start + next(offsets)
            due_ns = time.monotonic_ns() + int((at - loop.time()) * 1e9)
            delay = at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await gate.acquire()
            task = asyncio.create_task(one(item, due_ns))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)
        self.report.schedule_lag_p95_ms = percentile(lags, 95)
        self.report.dispatch_lag_p95_ms = percentile(dispatch, 95)

    def _entry(self, provider: str, model_id: str) -> CatalogueEntry | None:
        return self.catalogue.resolve(provider, model_id) if self.catalogue else None

    async def _call(self, item: WorkItem, scheduled_ns: int | None = None) -> CallRecord:
        started_at = time.time()
        ref = item.model_ref
        api, limiter = await self._api(ref.provider, item.request.model)
        entry = self._entry(ref.provider, ref.model)
        tried: dict[str, CatalogueEntry] = {}
        chain = self._fallbacks(item, entry, tried) if entry is not None else ()
        outcome, answered_by = await call_with_fallback((api, item.request, limiter, item.model), chain,
                                                        self.policy, self.holder)
        entry = tried.get(answered_by, entry)
        response = outcome.response
        if response is not None and (response.input_tokens is None or response.output_tokens is None):
            fill_missing_usage(item, response)
        extra: dict[str, object] = {}
        scorer_error: str | None = None
        if response is not None:
            try:
                extra = self.phase.score(item, response)
            except Exception as exc:  # noqa: BLE001 - one bad scorer must not take the phase down
                scorer_error = f"{type(exc).__name__}: {exc}"
                log.warning("scorer_error", key=item.key, error=scorer_error)
        cost = response.cost_usd if response is not None and response.cost_usd is not None else (
            cost_usd(entry, response.input_tokens, response.output_tokens, response.reasoning_tokens)
            if response is not None else None)
        if response is not None and response.usage_counted:
            extra["usage_counted"] = True
        record = outcome_to_record(item, outcome, run_id=self.run_id, worker=self.worker,
                                   started_at=started_at, extra=extra, cost_usd=cost)
        if response is not None:
            record.answered_by = answered_by
        if scorer_error is not None:  # the answer is kept; the failure is ours, never the model's
            record.status = "error"
            record.error_class = ErrorClass.SCORER_ERROR
            record.error_message = default_redactor().redact(f"scoring failed: {scorer_error}")
        if scheduled_ns is not None and outcome.origin_ns is not None:
            record.schedule_lag_ms = (outcome.origin_ns - scheduled_ns) / 1e6
        return record

    async def _fallbacks(self, item: WorkItem, entry: CatalogueEntry, tried: dict[str, CatalogueEntry]
                         ) -> AsyncIterator[FallbackTarget]:
        """The catalogue's fallback chain for `item`'s model, built only as it is reached,
        leaving out providers the run has no key for; `tried` learns each entry by name."""
        assert self.catalogue is not None
        for fallback in self.catalogue.fallback_chain(entry):
            provider = self.providers.get(fallback.provider)
            if provider is None or not provider.has_access():
                continue
            api, limiter = await self._api(fallback.provider, fallback.id)
            tried[fallback.name] = fallback
            yield api, msgspec.structs.replace(item.request, model=fallback.id), limiter, fallback.name

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
