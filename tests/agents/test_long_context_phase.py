"""long-context: plan shape and sizing, summary/plot from records, and a simulator run where
a small window turns 8k and 32k into `context_overflow` records."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.config import FleetConfig
from agents.phase_agent import PhaseAgent
from agents.phases.base import PlanContext
from agents.phases.long_context import (
    PLOT_NAME,
    LongContextPhase,
    length_label,
    length_ticks,
    parse_depth,
    parse_length,
    top_failure,
)
from agents.providers import ResolvedProvider, resolve_provider
from agents.sinks import ListSink
from agents.suite import load_suite
from harness.errors import InputError
from harness.filler import cl100k_counter
from harness.limit_contract import Limiter, ProviderLimits
from harness.local_limiters import LimiterCore
from harness.model_ref import ModelRef
from harness.records import CallRecord
from harness.retry import RetryPolicy
from simulator.config import BrainConfig, OutputSpec, SimConfig
from simulator.server import SimThread

ITEMS = {"router-json", "nested-json", "shell-largest-files", "three-bullets"}


def test_plan_is_items_x_lengths_x_models_with_payload_last_and_sized() -> None:
    suite = load_suite("baseline")
    by_id = {i.id: i for i in suite.suite.items}
    models = [ModelRef.parse("sim/a"), ModelRef.parse("sim/b")]
    items = LongContextPhase().plan(PlanContext(suites=[suite], models=models, config=FleetConfig()))
    assert len(items) == len(ITEMS) * 3 * 2
    assert {i.item_id for i in items} == ITEMS
    assert {i.variant for i in items} == {"2k", "8k", "32k"}
    assert len({i.key for i in items}) == len(items)
    count = cl100k_counter()
    for item in items:
        original = by_id[item.item_id]
        user = item.request.messages[-1].content
        assert isinstance(user, str)
        assert user.endswith("\n\n" + original.prompt)  # the payload comes last
        target = item.meta["context_tokens"]
        assert isinstance(target, int) and length_label(target) == item.variant
        system = count(original.system) if original.system else 0
        assert abs(count(user) + system - target) <= 0.05 * target


def test_options_choose_items_and_lengths() -> None:
    ctx = PlanContext(suites=[load_suite("baseline")], models=[ModelRef.parse("sim/a")],
                      config=FleetConfig(),
                      options={"long_context_items": ["three-bullets"], "context_lengths": ["1k", 4096]})
    items = LongContextPhase().plan(ctx)
    assert [(i.item_id, i.variant) for i in items] == [("three-bullets", "1k"), ("three-bullets", "4k")]
    assert parse_length("32k") == 32768 and parse_length(2048) == 2048


def test_payload_depths_place_the_prompt_and_keep_the_size() -> None:
    ctx = PlanContext(suites=[load_suite("baseline")], models=[ModelRef.parse("sim/a")], config=FleetConfig(),
                      options={"long_context_items": "router-json", "context_lengths": "4k",
                               "payload_depths": "start,middle,25%,end"})
    items = {i.variant: i for i in LongContextPhase().plan(ctx)}
    assert list(items) == ["4k@0%", "4k@50%", "4k@25%", "4k"]
    payload = next(i for i in load_suite("baseline").suite.items if i.id == "router-json").prompt
    count = cl100k_counter()
    for variant, item in items.items():
        user = item.request.messages[-1].content
        assert isinstance(user, str) and user.count(payload) == 1
        assert abs(count(user) - 4096) <= 0.05 * 4096, variant
        share = user.index(payload) / (len(user) - len(payload))  # filler before / all filler
        expected = {"4k@0%": 0.0, "4k@50%": 0.5, "4k@25%": 0.25, "4k": 1.0}[variant]
        assert abs(share - expected) < 0.03, (variant, share)
        assert item.meta["payload_depth"] == round(expected * 100)
    assert parse_depth("end") == 100 and parse_depth(" 40% ") == 40
    for bad in ("120", "deep", "-5%"):
        with pytest.raises(InputError) as info:
            parse_depth(bad)
        assert info.value.where == "--payload-depths"


def _rec(model: str, variant: str, status: str = "ok", error_class: str | None = None,
         ttft: float | None = 100.0, e2e: float | None = 400.0, adherence: float = 1.0) -> CallRecord:
    extra: dict[str, object] = ({"context_tokens": parse_length(variant.partition("@")[0]), "adherence": adherence}
                                if status == "ok" else {})
    return CallRecord(run_id="r", phase="long-context", item_id="router-json", model=model, variant=variant,
                      status="ok" if status == "ok" else "error", error_class=error_class,
                      ttft_ms=ttft if status == "ok" else None, e2e_ms=e2e if status == "ok" else None,
                      extra=extra)


def _synthetic() -> list[CallRecord]:
    return [
        _rec("sim/big", "2k", ttft=50, e2e=200), _rec("sim/big", "2k", ttft=70, e2e=260, adherence=0.0),
        _rec("sim/big", "8k", ttft=150, e2e=400), _rec("sim/big", "32k", ttft=600, e2e=1200),
        _rec("sim/small", "2k", ttft=40, e2e=150),
        _rec("sim/small", "8k", "error", "context_overflow"),
        _rec("sim/small", "32k", "error", "context_overflow"),
        _rec("sim/small", "32k", "error", "timeout"),
    ]


def test_summary_counts_outcomes_per_model_and_length() -> None:
    text = LongContextPhase().summary_section(_synthetic())
    assert text is not None
    assert "**sim/big**" in text and "**sim/small**" in text
    big, small = text.split("**sim/small**")
    big_2k = next(r for r in big.splitlines() if r.startswith("| 2k | 2 |"))
    assert "50.0%" in big_2k  # one of two calls adhered
    small_rows = small.splitlines()
    assert any(r.startswith("| 8k | 1 |") and r.endswith("| 0 | 1 | 0 | - |") for r in small_rows)
    assert any(r.startswith("| 32k | 2 |") and r.endswith("| 0 | 1 | 1 | - |") for r in small_rows)
    assert LongContextPhase().summary_section([]) is None


def test_top_failure_names_how_the_format_drifted() -> None:
    def answer(*details: str) -> CallRecord:
        record = _rec("sim/m", "8k")
        record.extra["constraints"] = [{"type": "json", "passed": False, "detail": d} for d in details] + [
            {"type": "contains", "passed": True, "detail": ""}]
        return record

    records = [answer("not valid JSON: Expecting value at line 1 column 1"),
               answer("not valid JSON: Unterminated string at line 1 column 9"),
               answer("valid JSON wrapped in code fence"), _rec("sim/m", "8k")]
    assert top_failure(records) == "json: not valid JSON (2)"
    assert top_failure([_rec("sim/m", "8k")]) == "-"
    text = LongContextPhase().summary_section(records)
    assert text is not None and "| json: not valid JSON (2) |" in text


def test_summary_rows_per_depth_with_the_reported_prompt_tokens() -> None:
    records = [_rec("sim/m", "8k"), _rec("sim/m", "8k@50%", adherence=0.0)]
    records[0].input_tokens, records[1].input_tokens = 8300, 8310
    text = LongContextPhase().summary_section(records)
    assert text is not None
    rows = [r for r in text.splitlines() if r.startswith("| 8k")]
    assert rows == [r for r in rows if "| 1 |" in r] and len(rows) == 2
    assert rows[0].startswith("| 8k@50% | 1 | 8310 |") and "| 0.0% |" in rows[0]
    assert rows[1].startswith("| 8k | 1 | 8300 |") and "| 100.0% |" in rows[1]


def test_plot_ticks_name_every_length_and_its_overflows() -> None:
    assert length_ticks(_synthetic()) == [(2048, "2k"), (8192, "8k\n1 overflowed"), (32768, "32k\n1 overflowed")]


def test_write_artifacts_draws_the_latency_plot(tmp_path: Path) -> None:
    names = LongContextPhase().write_artifacts(tmp_path, _synthetic())
    assert names == [PLOT_NAME]
    png = tmp_path / PLOT_NAME
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"
    assert LongContextPhase().write_artifacts(tmp_path / "none", []) == []


async def test_small_window_overflows_at_8k_and_32k_against_the_simulator() -> None:
    brain = {"ttft_ms": 5, "itl_ms": 1, "output_tokens": 8,
             "output": OutputSpec(kind="json", json_template={"route": "billing", "confidence": 0.9})}
    cfg = SimConfig(models={"small": BrainConfig(context_window=4096, **brain),  # type: ignore[arg-type]
                            "big": BrainConfig(**brain)})  # type: ignore[arg-type]
    with SimThread(cfg) as sim:
        config = FleetConfig()
        provider = resolve_provider("sim", config, sim_url=sim.url)
        phase = LongContextPhase()
        ctx = PlanContext(suites=[load_suite("baseline")], config=config,
                          models=[ModelRef.parse("sim/small"), ModelRef.parse("sim/big")],
                          options={"long_context_items": ["router-json"]})
        items = phase.plan(ctx)
        core = LimiterCore(ProviderLimits(max_concurrent=4))

        def limiter_for(_: ResolvedProvider) -> Limiter:
            return core

        sink = ListSink()
        agent = PhaseAgent(phase, "run-lc", items, {"sim": provider}, limiter_for,
                           RetryPolicy(base_delay_s=0.01, max_delay_s=0.05), sink,
                           concurrency=4, worker="test", holder="h1")
        await agent.run()

    outcome = {(r.model, r.variant): (r.status, r.error_class) for r in sink.records}
    assert outcome == {
        ("sim/small", "2k"): ("ok", None),
        ("sim/small", "8k"): ("error", "context_overflow"),
        ("sim/small", "32k"): ("error", "context_overflow"),
        ("sim/big", "2k"): ("ok", None), ("sim/big", "8k"): ("ok", None), ("sim/big", "32k"): ("ok", None),
    }
    ok = [r for r in sink.records if r.status == "ok"]
    assert all(r.extra["adherence"] == 1.0 and r.extra["context_tokens"] in (2048, 8192, 32768) for r in ok)
    summary = phase.summary_section(sink.records)
    assert summary is not None and "context_overflow" in summary
