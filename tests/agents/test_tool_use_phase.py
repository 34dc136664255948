"""The tool-use phase: plan shape, summary tables/tiers, and one end-to-end simulator run."""

from __future__ import annotations

from typing import Any

from agents.config import FleetConfig
from agents.phase_agent import PhaseAgent
from agents.phases.base import PlanContext
from agents.phases.tool_use import VARIANTS, ToolUsePhase
from agents.providers import ResolvedProvider, resolve_provider
from agents.sinks import ListSink
from agents.suite import load_suite
from harness.limit_contract import Limiter, ProviderLimits
from harness.local_limiters import LimiterCore
from harness.model_ref import ModelRef
from harness.records import CallRecord
from harness.retry import RetryPolicy
from simulator.config import BrainConfig, OutputSpec, SimConfig
from simulator.server import SimThread


def test_suite_loads_with_every_category() -> None:
    suite = load_suite("tool_use").suite
    cats = [i.category for i in suite.items]
    assert len(suite.items) >= 8 and cats.count("irrelevance") >= 2
    assert {"simple", "multiple", "parallel", "irrelevance"} <= set(cats)
    assert all(i.tools for i in suite.items)


def test_plan_is_items_x_variants_x_models_with_mode_per_provider() -> None:
    suite = load_suite("tool_use")
    models = [ModelRef.parse("sim/a"), ModelRef.parse("ollama/qwen")]
    items = ToolUsePhase().plan(PlanContext(suites=[suite], models=models, config=FleetConfig()))
    assert len(items) == len(suite.suite.items) * len(VARIANTS) * 2
    assert len({i.key for i in items}) == len(items)
    native = [i for i in items if i.model == "sim/a"]
    prompt = [i for i in items if i.model == "ollama/qwen"]
    assert all(i.meta["mode"] == "native" and i.request.tools for i in native)
    assert all(i.meta["mode"] == "prompt" and not i.request.tools for i in prompt)
    xml = next(i for i in prompt if i.variant == "xml-tools")
    assert xml.meta["style"] == "xml" and "<tools>" in (xml.request.messages[0].content)


def _record(model: str, variant: str, item: str, passed: bool, failure: str | None = None) -> CallRecord:
    extra: dict[str, object] = {"tool_passed": passed, "tool_failure": failure}
    return CallRecord(run_id="r", phase="tool-use", item_id=item, model=model, variant=variant,
                      status="ok", extra=extra)


def test_summary_tables_and_tiers() -> None:
    records = []
    for n in range(10):
        records.append(_record("sim/good", "baseline", f"i{n}", True))
        records.append(_record("sim/good", "few-shot", f"i{n}", True))
        records.append(_record("ollama/small", "baseline", f"i{n}", False, "format_drift" if n % 2 else "refusal"))
        records.append(_record("ollama/small", "few-shot", f"i{n}", n < 5, None if n < 5 else "extra_prose"))
        records.append(_record("ollama/tiny", "baseline", f"i{n}", False, "hallucinated_tool"))
    text = ToolUsePhase().summary_section(records)
    assert text is not None
    assert "| model | hallucinated_tool | refusal | extra_prose | format_drift |" in text
    assert "| ollama/small | 0 | 5 | 5 | 5 |" in text and "| ollama/tiny | 10 | 0 | 0 | 0 |" in text
    assert "| ollama/small | few-shot | 10 | 50.0% |" in text
    assert "| ollama/small | few-shot | 10 | +50.0 pp |" in text
    assert "| sim/good | baseline | 100.0% | 1 (capable) |" in text
    assert "| ollama/small | few-shot | 50.0% | 2 (partial) |" in text
    assert "| ollama/tiny | baseline | 0.0% | 3 (incapable) |" in text
    assert ToolUsePhase().summary_section([]) is None


def test_tier_thresholds_come_from_config() -> None:
    from agents.config import ToolUseSettings
    from agents.phases import make_phase

    records = [_record("sim/half", "baseline", f"i{n}", n < 5) for n in range(10)]
    strict = make_phase("tool-use", FleetConfig(tool_use=ToolUseSettings(tier1_min=0.9, tier2_min=0.6)))
    lenient = make_phase("tool-use", FleetConfig(tool_use=ToolUseSettings(tier1_min=0.5, tier2_min=0.1)))
    strict_text, lenient_text = strict.summary_section(records), lenient.summary_section(records)
    assert strict_text is not None and lenient_text is not None
    assert "| sim/half | baseline | 50.0% | 3 (incapable) |" in strict_text and ">= 90%" in strict_text
    assert "| sim/half | baseline | 50.0% | 1 (capable) |" in lenient_text


def test_variants_option_selects_and_orders_variants() -> None:
    suite = load_suite("tool_use")
    ctx = PlanContext(suites=[suite], models=[ModelRef.parse("sim/a")], config=FleetConfig(),
                      options={"variants": "step-by-step,baseline"})
    items = ToolUsePhase().plan(ctx)
    assert {i.variant for i in items} == {"baseline", "step-by-step"}
    assert len(items) == 2 * len(suite.suite.items)


async def test_end_to_end_good_passes_and_hallucinating_is_classified() -> None:
    weather: dict[str, Any] = {"city": "Paris", "unit": "celsius"}
    sim_config = SimConfig(models={
        "good": BrainConfig(ttft_ms=5, itl_ms=1, output=OutputSpec(kind="tool_call", tool_name="get_weather",
                                                                  tool_arguments=weather)),
        "hallucinating": BrainConfig(ttft_ms=5, itl_ms=1, output=OutputSpec(kind="tool_call", tool_name="rm_rf",
                                                                           tool_arguments={"path": "/"})),
    })
    with SimThread(sim_config) as sim:
        config = FleetConfig()
        provider = resolve_provider("sim", config, sim_url=sim.url)
        phase = ToolUsePhase()
        models = [ModelRef.parse("sim/good"), ModelRef.parse("sim/hallucinating")]
        items = phase.plan(PlanContext(suites=[load_suite("tool_use")], models=models, config=config, limit=1))
        core = LimiterCore(ProviderLimits(max_concurrent=4))

        def limiter_for(_: ResolvedProvider) -> Limiter:
            return core

        sink = ListSink()
        agent = PhaseAgent(phase, "run-t", items, {"sim": provider}, limiter_for,
                           RetryPolicy(base_delay_s=0.01, max_delay_s=0.05), sink,
                           concurrency=4, worker="test", holder="h1")
        await agent.run()
    assert len(sink.records) == len(items) == 2 * len(VARIANTS)
    good = [r for r in sink.records if r.model == "sim/good"]
    bad = [r for r in sink.records if r.model == "sim/hallucinating"]
    assert all(r.item_id == "simple-weather" and r.extra["tool_passed"] is True for r in good), [r.extra for r in good]
    assert all(r.extra["tool_failure"] == "hallucinated_tool" for r in bad), [r.extra for r in bad]
    summary = phase.summary_section(sink.records)
    assert summary is not None and "| sim/hallucinating | baseline | 0.0% | 3 (incapable) |" in summary
