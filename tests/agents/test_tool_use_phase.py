"""The tool-use phase: plan shape, summary tables/tiers, and one end-to-end simulator run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from agents.config import FleetConfig
from agents.phase_agent import PhaseAgent
from agents.phases.base import PlanContext
from agents.phases.tool_use import VARIANTS, ToolUsePhase
from agents.providers import ResolvedProvider, resolve_provider
from agents.sinks import ListSink
from agents.suite import load_suite
from archive.store import RunStore
from calibration.calibrate import calibrate
from calibration.settings import CalibrationSettings
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


def _record(model: str, variant: str, item: str, passed: bool | None, failure: str | None = None, *,
            category: str = "simple", repeat: int = 0, error: str | None = None) -> CallRecord:
    """A scored ok call, or (with `error`) a call that failed before answering."""
    if error is not None:
        return CallRecord(run_id="r", phase="tool-use", item_id=item, model=model, variant=variant, repeat=repeat,
                          category=category, status="error", error_class=error)
    extra: dict[str, object] = {"tool_passed": passed, "tool_failure": failure}
    return CallRecord(run_id="r", phase="tool-use", item_id=item, model=model, variant=variant, repeat=repeat,
                      category=category, status="ok", extra=extra)


def _rows(text: str, heading: str) -> list[list[str]]:
    """The cells of the markdown table under a bold heading of the section."""
    block = text.split(f"**{heading}", 1)[1].split("\n\n")[1]
    return [[c.strip() for c in line.strip("|").split("|")] for line in block.splitlines()[2:]]


def _row(text: str, heading: str, *key: str) -> list[str]:
    (found,) = [r for r in _rows(text, heading) if r[: len(key)] == list(key)]
    return found


def test_summary_tables_by_category_failures_improvement_and_tiers() -> None:
    records = []
    for n in range(10):
        category = "irrelevance" if n < 3 else "simple"
        records.append(_record("sim/good", "baseline", f"i{n}", True, category=category))
        records.append(_record("sim/good", "few-shot", f"i{n}", True, category=category))
        records.append(_record("ollama/small", "baseline", f"i{n}", False,
                               "format_drift" if n % 2 else "refusal", category=category))
        records.append(_record("ollama/small", "few-shot", f"i{n}", n < 5, None if n < 5 else "extra_prose",
                               category=category))
        records.append(_record("ollama/tiny", "baseline", f"i{n}", False, "hallucinated_tool", category=category))
    text = ToolUsePhase().summary_section(records)
    assert text is not None
    accuracy = "Tool-use accuracy by category"
    # few-shot: irrelevance 3/3, simple 2/7; `all` weighs the two categories equally: (1 + 2/7) / 2
    assert _row(text, accuracy, "ollama/small", "few-shot", "irrelevance")[3:5] == ["3", "100.0%"]
    assert _row(text, accuracy, "ollama/small", "few-shot", "simple")[3:5] == ["7", "28.6%"]
    assert _row(text, accuracy, "ollama/small", "few-shot", "all")[3:5] == ["10", "64.3%"]
    failures = "Tool-use failure modes by category"
    assert _rows(text, failures)[0] == ["ollama/small", "irrelevance", "0", "2", "0", "1"]
    assert text.split(f"**{failures}", 1)[1].split("\n\n")[1].splitlines()[0] == \
        "| model | category | hallucinated_tool | refusal | extra_prose | format_drift |"
    assert _row(text, failures, "ollama/small", "simple")[2:] == ["0", "3", "5", "4"]
    assert _row(text, failures, "ollama/tiny", "simple")[2:] == ["7", "0", "0", "0"]
    assert _row(text, failures, "sim/good", "simple")[2:] == ["0", "0", "0", "0"]
    improvement = _row(text, "Improvement over `baseline`", "ollama/small", "few-shot")
    assert improvement[2:4] == ["10", "+64.3 pp"]
    tier = "Tool-use tier"
    assert _row(text, tier, "sim/good")[1:3] == ["baseline", "100.0%"]
    assert _row(text, tier, "ollama/small")[1] == "few-shot"
    assert ToolUsePhase().summary_section([]) is None


def test_tier_one_only_when_the_interval_clears_the_threshold() -> None:
    """The measured defect: a tier from the point estimate, 9 of 10 items making "1 (capable)"
    though the interval reaches down to 55 %."""
    records = [_record("sim/m", "baseline", f"i{n}", n < 9) for n in range(10)]
    records += [_record("sim/sure", "baseline", f"i{n}", True) for n in range(40)]
    text = ToolUsePhase().summary_section(records)
    assert text is not None
    nine = _row(text, "Tool-use tier", "sim/m")
    assert nine[2] == "90.0%" and nine[4] == "uncertain: tier 1-2" and nine[3] == "[55.5, 99.7]"
    assert _row(text, "Tool-use tier", "sim/sure")[4] == "1 (capable)"  # 40/40: [91.2, 100]


def test_paired_improvement_is_never_zero_width() -> None:
    """The measured defect: "+0.0 pp [+0.0, +0.0]" at paired n = 10 (a percentile bootstrap
    when no pair differs)."""
    records = [_record("sim/m", v, f"i{n}", n < 4) for n in range(10) for v in ("baseline", "few-shot")]
    text = ToolUsePhase().summary_section(records)
    assert text is not None
    row = _row(text, "Improvement over `baseline`", "sim/m", "few-shot")
    assert row[2:4] == ["10", "+0.0 pp"]
    low, high = (float(x) for x in row[4].strip("[]").split(","))
    assert low < -20 and high > 20


def test_repeats_of_one_item_are_one_unit() -> None:
    """The measured defect: each repeat counted as an independent sample, so `--repeat 5` on
    the same outputs narrowed the interval by about sqrt(5)."""
    once = [_record("sim/m", "baseline", f"i{n}", n < 6) for n in range(8)]
    five = [_record("sim/m", "baseline", f"i{n}", n < 6, repeat=k) for n in range(8) for k in range(5)]
    a, b = ToolUsePhase().summary_section(once), ToolUsePhase().summary_section(five)
    assert a is not None and b is not None
    assert _row(a, "Tool-use accuracy by category", "sim/m") == _row(b, "Tool-use accuracy by category", "sim/m")


def test_failed_calls_are_reported_apart_and_ours_are_never_the_models() -> None:
    """The measured defect: failed calls vanished from the section (and, in calibration, had
    counted as wrong answers): the provider's are now shown as availability, ours apart."""
    records = [_record("sim/m", "baseline", f"i{n}", n < 3) for n in range(4)]
    records += [_record("sim/m", "baseline", "i4", None, error="rate_limited"),
                _record("sim/m", "baseline", "i5", None, error="context_overflow"),
                _record("sim/m", "baseline", "i6", None, error="subagent_lost")]
    text = ToolUsePhase().summary_section(records)
    assert text is not None
    assert _row(text, "Tool-use accuracy by category", "sim/m")[3:5] == ["4", "75.0%"]
    assert _row(text, "Tool-use calls that failed before answering", "sim/m") == [
        "sim/m", "4", "2", "context_overflow 1, rate_limited 1", "1", "subagent_lost 1"]


def test_phase_accuracy_is_calibrations_tool_score(tmp_path: Path) -> None:
    """One accuracy rule: the phase's `all` row and calibration's tool ranking give the same
    mean, interval and n on the same records (unequal categories, repeats, both kinds of
    failure)."""
    records = [_record("sim/m", "baseline", f"s{n}", n < 5, category="simple", repeat=k)
               for n in range(8) for k in range(2)]
    records += [_record("sim/m", "baseline", f"r{n}", n == 0, category="irrelevance") for n in range(3)]
    records += [_record("sim/m", "baseline", "s9", None, error="server_error", category="simple"),
                _record("sim/m", "baseline", "r9", None, error="subagent_lost", category="irrelevance")]
    records = [msgspec.structs.replace(r, run_id="r1") for r in records]
    run = RunStore(tmp_path).create("r1", {"run_id": "r1", "created_at": "2026-11-20T10:00:00.000Z",
                                           "status": "completed", "parent_run": None})
    run.append_records(records)
    (tool,) = calibrate(tmp_path, CalibrationSettings()).rankings.by_source["tool"]
    text = ToolUsePhase().summary_section(records)
    assert text is not None
    row = _row(text, "Tool-use accuracy by category", "sim/m", "baseline", "all")
    assert row[3:] == [str(tool.n), f"{tool.mean:.1f}%", f"[{tool.ci_low:.1f}, {tool.ci_high:.1f}]"]
    assert tool.n == 11 and round(tool.mean, 1) == round(100 * (5 / 8 + 1 / 3) / 2, 1)


def test_tier_thresholds_come_from_config() -> None:
    from agents.config import ToolUseSettings
    from agents.phases import make_phase

    records = [_record("sim/half", "baseline", f"i{n}", n < 20) for n in range(40)]  # [33.8, 66.2]
    strict = make_phase("tool-use", FleetConfig(tool_use=ToolUseSettings(tier1_min=0.9, tier2_min=0.7)))
    lenient = make_phase("tool-use", FleetConfig(tool_use=ToolUseSettings(tier1_min=0.3, tier2_min=0.1)))
    strict_text, lenient_text = strict.summary_section(records), lenient.summary_section(records)
    assert strict_text is not None and lenient_text is not None
    assert _row(strict_text, "Tool-use tier", "sim/half")[4] == "3 (incapable)" and ">= 90%" in strict_text
    assert _row(lenient_text, "Tool-use tier", "sim/half")[4] == "1 (capable)"


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
    assert summary is not None
    assert _row(summary, "Tool-use tier", "sim/hallucinating")[1:3] == ["baseline", "0.0%"]
    assert _row(summary, "Tool-use failure modes by category", "sim/hallucinating", "simple")[2] == "4"


def test_a_section_with_no_scored_call_shows_only_why_the_calls_failed() -> None:
    records = [_record("sim/m", "baseline", f"i{n}", None, error="server_error") for n in range(2)]
    text = ToolUsePhase().summary_section(records)
    assert text is not None and "Tool-use accuracy" not in text and "Tool-use tier" not in text
    assert _row(text, "Tool-use calls that failed before answering", "sim/m")[1:4] == ["0", "2", "server_error 2"]
