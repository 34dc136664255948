"""PhaseAgent without Ray: real openai SDK over HTTP to the simulator, in-process limiter."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.config import FleetConfig
from agents.phase_agent import PhaseAgent
from agents.phases import make_phase
from agents.phases.base import PlanContext
from agents.providers import ResolvedProvider, resolve_provider
from agents.sinks import ListSink
from agents.suite import load_suite
from harness.limit_contract import Limiter, ProviderLimits
from harness.local_limiters import LimiterCore
from harness.model_ref import ModelRef
from harness.retry import RetryPolicy
from simulator.config import BrainConfig, FaultRule, OutputSpec, SimConfig
from simulator.server import SimThread


def _sim_config() -> SimConfig:
    return SimConfig(
        models={
            "good": BrainConfig(ttft_ms=20, itl_ms=2, output_tokens=8,
                                output=OutputSpec(kind="json", json_template={"route": "search"})),
            "flaky": BrainConfig(ttft_ms=10, itl_ms=1, output_tokens=4),
            "broke": BrainConfig(ttft_ms=10, itl_ms=1, output_tokens=4),
        },
        faults=[FaultRule(kind="server_error", model="flaky", at=[1]),
                FaultRule(kind="quota", model="broke", rate=1.0)],
    )


async def test_phase_agent_records_every_item_once_with_scores_and_errors() -> None:
    with SimThread(_sim_config()) as sim:
        config = FleetConfig()
        provider = resolve_provider("sim", config, sim_url=sim.url)
        models = [ModelRef.parse(m) for m in ("sim/good", "sim/flaky", "sim/broke")]
        phase = make_phase("baseline")
        ctx = PlanContext(suites=[load_suite("smoke")], models=models, config=config, repeat=2)
        items = phase.plan(ctx)
        core = LimiterCore(ProviderLimits(max_concurrent=3))

        def limiter_for(_: ResolvedProvider) -> Limiter:
            return core

        sink = ListSink()
        agent = PhaseAgent(phase, "run-x", items, {"sim": provider}, limiter_for,
                           RetryPolicy(base_delay_s=0.01, max_delay_s=0.05), sink,
                           concurrency=4, worker="test", holder="h1")
        report = await agent.run()

    keys = [r.key for r in sink.records]
    assert len(keys) == len(items) == len(set(keys))
    assert report.ok + report.error == len(items)
    good = [r for r in sink.records if r.model == "sim/good"]
    assert all(r.status == "ok" and r.ttft_ms is not None and r.ttft_ms >= 20 for r in good)
    assert all(r.output == '{"route": "search"}' or r.output.startswith("{") for r in good)
    assert all("adherence" in r.extra for r in good if r.extra)
    flaky = [r for r in sink.records if r.model == "sim/flaky"]
    # the 1st request to `flaky` got a 500 and was retried; every other call succeeded at once
    assert sorted(r.attempts for r in flaky) == [1] * (len(flaky) - 1) + [2]
    assert all(r.status == "ok" for r in flaky)
    retried = next(r for r in flaky if r.attempts == 2)
    assert retried.attempt_log[0].error_class == "server_error" and retried.attempt_log[0].status == 500
    broke = [r for r in sink.records if r.model == "sim/broke"]
    # insufficient_quota is never retried
    assert all(r.status == "error" and r.error_class == "quota_exhausted" and r.attempts == 1 for r in broke)
    assert core.stats()["in_flight"] == 0


def test_plan_is_items_x_models_x_repeats(tmp_path: Path) -> None:
    phase = make_phase("baseline")
    models = [ModelRef.parse("sim/a"), ModelRef.parse("sim/b@high")]
    suite = load_suite("smoke")
    items = phase.plan(PlanContext(suites=[suite], models=models, config=FleetConfig(), limit=2, repeat=3))
    assert len(items) == 2 * 2 * 3
    assert {i.model for i in items} == {"sim/a", "sim/b@high"}
    assert {i.request.variant for i in items} == {"", "high"}
    assert {i.repeat for i in items} == {0, 1, 2}


def test_unknown_phase_is_input_error() -> None:
    from harness.errors import InputError

    with pytest.raises(InputError, match="unknown phase"):
        make_phase("nope")


def test_missing_usage_is_counted_and_flagged() -> None:
    from agents.phase_agent import fill_missing_usage
    from agents.plan import WorkItem, build_request
    from harness.seam import ProviderResponse

    request = build_request(ModelRef.parse("sim/x"), "Count these five words please", system=None,
                            max_tokens=8, temperature=0.0, stream=True, timeout_s=5)
    item = WorkItem(phase="baseline", item_id="a", model="sim/x", request=request)
    response = ProviderResponse(text="hello world")
    fill_missing_usage(item, response)
    assert response.input_tokens == 5 and response.output_tokens == 2 and response.usage_counted
    given = ProviderResponse(text="hello world", input_tokens=99, output_tokens=7)
    fill_missing_usage(item, given)
    assert (given.input_tokens, given.output_tokens) == (99, 7) and not given.usage_counted


async def test_quota_falls_back_through_the_chain_with_attempts_numbered_across_it() -> None:
    """The phase agent uses the one quota fallback (harness/fallback.py): each model tried
    keeps its attempts in the log, numbered across the chain, and the record names who
    answered; a fallback's adapter is only built once the chain reaches it."""
    from harness.catalogue import Catalogue, CatalogueEntry

    brain = BrainConfig(ttft_ms=5, itl_ms=1, output_tokens=3)
    sim_config = SimConfig(models={"primary": brain, "backup": brain, "last": brain, "fine": brain},
                           faults=[FaultRule(kind="quota", model="primary", rate=1.0),
                                   FaultRule(kind="quota", model="backup", rate=1.0)])

    def entry(model: str, api: str, fallback: str | None) -> CatalogueEntry:
        return CatalogueEntry(provider="sim", id=model, api=api, price_in_per_mtok=1.0, price_out_per_mtok=2.0,
                              fallback=fallback)

    catalogue = Catalogue(models=[entry("primary", "chat", "sim/backup"), entry("backup", "chat", "sim/last"),
                                  entry("last", "responses", None), entry("fine", "chat", "sim/last")])
    with SimThread(sim_config) as sim:
        config = FleetConfig()
        provider = resolve_provider("sim", config, sim_url=sim.url, model_apis=catalogue.model_apis("sim"))
        phase = make_phase("baseline")

        async def run(model: str) -> tuple[PhaseAgent, ListSink]:
            ctx = PlanContext(suites=[load_suite("smoke")], models=[ModelRef.parse(model)], config=config, limit=1)
            sink = ListSink()
            agent = PhaseAgent(phase, "run-f", phase.plan(ctx), {"sim": provider},
                               lambda _: LimiterCore(ProviderLimits()),
                               RetryPolicy(base_delay_s=0.01, max_delay_s=0.05), sink,
                               concurrency=1, worker="test", holder="h1", catalogue=catalogue)
            await agent.run()
            return agent, sink

        agent, sink = await run("sim/fine")
        assert [r.answered_by for r in sink.records] == ["sim/fine"]
        assert ("sim", "responses") not in agent._apis  # `last` was never reached
        agent, sink = await run("sim/primary")
        (record,) = sink.records
        assert record.status == "ok" and record.answered_by == "sim/last" and record.attempts == 3
        assert [(a.attempt, a.error_class) for a in record.attempt_log] == [
            (1, "quota_exhausted"), (2, "quota_exhausted"), (3, None)]
        assert record.cost_usd is not None and sim.truths()[-1].api == "responses"
