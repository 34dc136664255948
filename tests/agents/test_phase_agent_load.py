"""PhaseAgent's loops over real HTTP to the simulator: items streamed with bounded tasks,
open-loop sends on their schedule with the lag recorded, a scorer that raises, and the
event-loop lag the client reports about itself."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

from agents.config import FleetConfig
from agents.load import LoadShape
from agents.phase_agent import PhaseAgent, warm_targets
from agents.phases import make_phase
from agents.phases.base import Phase, PlanContext
from agents.plan import WorkItem
from agents.providers import ResolvedProvider, resolve_provider
from agents.sinks import ListSink
from agents.suite import load_suite
from harness.limit_contract import Limiter
from harness.local_limiters import UnlimitedLimiter
from harness.model_ref import ModelRef
from harness.records import CallRecord
from harness.retry import RetryPolicy
from harness.seam import ProviderResponse
from simulator.config import BrainConfig, SimConfig
from simulator.server import SimThread


def _plan(models: list[str], repeat: int, phase: Phase | None = None) -> tuple[Phase, list[WorkItem]]:
    phase = phase or make_phase("baseline")
    ctx = PlanContext(suites=[load_suite("smoke")], models=[ModelRef.parse(m) for m in models],
                      config=FleetConfig(), repeat=repeat)
    return phase, phase.plan(ctx)


def _agent(phase: Phase, items: object, url: str, *, concurrency: int, load: LoadShape | None = None,
           warm: list[tuple[str, str]] | None = None) -> tuple[PhaseAgent, ListSink]:
    provider = resolve_provider("sim", FleetConfig(), sim_url=url)
    limiter = UnlimitedLimiter()

    def limiter_for(_: ResolvedProvider) -> Limiter:
        return limiter

    sink = ListSink()
    agent = PhaseAgent(phase, "run-x", items, {"sim": provider}, limiter_for,  # type: ignore[arg-type]
                       RetryPolicy(base_delay_s=0.01, max_delay_s=0.05), sink, concurrency=concurrency,
                       worker="test", holder="h1", load=load, warm=warm or ())
    return agent, sink


async def test_items_are_streamed_with_bounded_tasks() -> None:
    phase, items = _plan(["sim/a"], repeat=150)  # 450 items
    pulled = 0
    peak_ahead = peak_tasks = 0

    async def stream() -> AsyncIterator[WorkItem]:
        nonlocal pulled
        for item in items:
            pulled += 1
            yield item

    cfg = SimConfig(models={"a": BrainConfig(ttft_ms=0, itl_ms=0, output_tokens=2)})
    with SimThread(cfg) as sim:
        agent, sink = _agent(phase, stream(), sim.url, concurrency=4, warm=warm_targets(items[:1]))

        async def watch() -> None:
            nonlocal peak_ahead, peak_tasks
            while True:
                peak_ahead = max(peak_ahead, pulled - len(sink.records) - len(agent._pending))
                peak_tasks = max(peak_tasks, len(asyncio.all_tasks()))
                await asyncio.sleep(0.002)

        watcher = asyncio.create_task(watch())
        await agent.run()
        watcher.cancel()
    assert len(sink.records) == len({r.key for r in sink.records}) == 450
    assert peak_ahead <= 4 + 2 * 4 + 1  # in flight + the bounded queue (+ the one being put)
    assert peak_tasks < 40  # not one task per item


def test_poisson_schedule_is_seeded_and_has_the_asked_rate() -> None:
    shape = LoadShape(rate=50.0, arrivals="poisson", seed=7)
    first = [o for o, _ in zip(shape.offsets(), range(2000))]
    again = [o for o, _ in zip(LoadShape(rate=50.0, arrivals="poisson", seed=7).offsets(), range(2000))]
    assert first == again and first[0] == 0.0
    assert abs(first[-1] / 1999 - 1 / 50) < 0.002  # mean gap of 2000 draws, about 2 % off at most
    constant = [o for o, _ in zip(LoadShape(rate=4.0).offsets(), range(5))]
    assert constant == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert LoadShape(rate=10.0, seed=3).share(2, 1).rate == 5.0


async def test_open_loop_sends_on_schedule_and_records_how_late() -> None:
    phase, items = _plan(["sim/a"], repeat=8)  # 24 items
    cfg = SimConfig(models={"a": BrainConfig(ttft_ms=5, itl_ms=1, output_tokens=3)})
    with SimThread(cfg) as sim:
        agent, sink = _agent(phase, items, sim.url, concurrency=100, load=LoadShape(rate=40.0))
        report = await agent.run()
        truths = {t.request_id: t for t in sim.truths()}
    records = sink.records
    assert len(records) == 24 and all(r.status == "ok" for r in records)
    assert all(r.schedule_lag_ms is not None and r.schedule_lag_ms >= 0 for r in records)
    # the schedule recovered from the server's arrivals and each call's lag (network jitter
    # included, so only its median is pinned): 1/rate apart
    due = sorted(truths[r.request_id].arrival_ns / 1e6 - r.schedule_lag_ms for r in records  # type: ignore[operator]
                 if r.request_id in truths)
    gaps = sorted(b - a for a, b in itertools.pairwise(due))
    assert len(gaps) == 23 and abs(gaps[11] - 25.0) < 3.0, gaps
    assert report.offered_rate == 40.0 and report.schedule_lag_p95_ms is not None


class _StampingAgent(PhaseAgent):
    """Records when each call was due and when it really started; no network."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.stamps: list[tuple[int, int]] = []

    async def _call(self, item: WorkItem, scheduled_ns: int | None = None) -> CallRecord:
        assert scheduled_ns is not None
        self.stamps.append((scheduled_ns, time.monotonic_ns()))
        await asyncio.sleep(0.2)  # slow calls: the schedule must not wait for them
        return CallRecord(run_id="r", phase=item.phase, item_id=item.item_id, model=item.model,
                          repeat=item.repeat, status="ok")


async def test_open_loop_dispatch_keeps_its_schedule_on_its_own_stamps() -> None:
    phase, items = _plan(["sim/a"], repeat=10)  # 30 items at 50/s: 0.6 s of sends
    provider = resolve_provider("sim", FleetConfig(), sim_url="http://127.0.0.1:9")
    agent = _StampingAgent(phase, "run-x", items, {"sim": provider}, lambda _: UnlimitedLimiter(),
                           RetryPolicy(), ListSink(), concurrency=100, worker="t", holder="h",
                           load=LoadShape(rate=50.0), warm=[("sim", "none")])
    agent._warm_targets = list  # type: ignore[method-assign]
    await agent.run()
    due = [d for d, _ in agent.stamps]
    assert len(due) == 30
    assert all(abs((b - a) / 1e6 - 20.0) < 0.1 for a, b in itertools.pairwise(due))  # computed, not measured
    assert all(started >= d - 1_000_000 for d, started in agent.stamps)  # never sent early


class _RaisingBaseline(Phase):
    """The baseline phase, except that scoring one item raises."""

    name = "baseline"

    def __init__(self) -> None:
        self._inner = make_phase("baseline")

    def plan(self, ctx: PlanContext) -> list[WorkItem]:
        return self._inner.plan(ctx)

    def score(self, item: WorkItem, response: ProviderResponse) -> dict[str, object]:
        if item.repeat == 1:
            raise KeyError("constraint table has no entry for this item")
        return self._inner.score(item, response)


async def test_a_scorer_that_raises_is_recorded_as_ours_and_the_phase_goes_on() -> None:
    phase, items = _plan(["sim/a"], repeat=3, phase=_RaisingBaseline())
    cfg = SimConfig(models={"a": BrainConfig(ttft_ms=1, itl_ms=1, output_tokens=3)})
    with SimThread(cfg) as sim:
        agent, sink = _agent(phase, items, sim.url, concurrency=3)
        await agent.run()
    bad = [r for r in sink.records if r.repeat == 1]
    good = [r for r in sink.records if r.repeat != 1]
    assert len(bad) == 3 and len(good) == 6
    assert all(r.status == "error" and r.error_class == "scorer_error" for r in bad)
    assert all("KeyError" in (r.error_message or "") and r.output for r in bad)  # the answer is kept
    assert all(r.status == "ok" for r in good)


async def test_the_client_reports_its_own_event_loop_lag() -> None:
    phase, items = _plan(["sim/a"], repeat=4)  # 12 calls of 50 ms, two at a time: the run lasts
    cfg = SimConfig(models={"a": BrainConfig(ttft_ms=50, itl_ms=1, output_tokens=3)})

    async def hog() -> None:
        while True:
            await asyncio.sleep(0.03)
            time.sleep(0.06)  # noqa: ASYNC251 - blocks the loop, as a saturated client does

    with SimThread(cfg) as sim:
        agent, sink = _agent(phase, items, sim.url, concurrency=2)
        blocker = asyncio.create_task(hog())
        report = await agent.run()
        blocker.cancel()
    assert len(sink.records) == 12
    assert report.loop_lag_max_ms is not None and report.loop_lag_max_ms >= 50
    assert report.loop_lag_p95_ms is not None
