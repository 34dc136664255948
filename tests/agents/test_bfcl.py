"""BFCL categories as suites, read from the installed bfcl-eval package, planned and scored by
the tool-use phase: the conversion of function docs, questions and answers, native names,
and BFCL's gold answers passing our scorer in both modes."""

from __future__ import annotations

import json

import pytest

from agents import bfcl
from agents.config import FleetConfig
from agents.phases.base import PlanContext
from agents.phases.tool_use import ToolUsePhase
from agents.plan import WorkItem
from agents.run_setup import RunSpec, prepare_run
from agents.suite import LoadedSuite, load_suite
from harness.errors import InputError
from harness.model_ref import ModelRef
from harness.seam import ProviderResponse

SIM, LOCAL = ModelRef.parse("sim/a"), ModelRef.parse("local/smollm2-135m")
# scripts/setup.sh installs bfcl-eval; a venv made without it skips what reads its data
needs_bfcl = pytest.mark.skipif(bfcl.data_dir() is None, reason="bfcl-eval is not installed (scripts/setup.sh)")


@needs_bfcl
def test_categories_load_with_their_items_tools_and_answers() -> None:
    loaded = load_suite("bfcl:simple_python")
    suite = loaded.suite
    assert len(suite.items) == 400 and suite.irrelevance == "no_call" and suite.phases == ["tool-use"]
    assert loaded.path.name == "BFCL_v4_simple_python.json" and len(loaded.sha256) == 64
    first = suite.items[0]
    assert first.id == "simple_python_0" and first.category == "bfcl:simple_python"
    assert first.prompt.startswith("Find the area of a triangle")
    fn = first.tools[0]["function"]
    assert fn["name"] == "calculate_triangle_area" and fn["description"].endswith(bfcl.PYTHON_HINT)
    assert fn["parameters"]["type"] == "object"  # BFCL's "dict"
    assert first.expected_calls is not None
    (call,) = first.expected_calls
    assert call.accepted == {"base": [10], "height": [5], "unit": ["units", ""]} and call.required == ["base", "height"]
    irrelevance = load_suite("bfcl:irrelevance").suite
    assert len(irrelevance.items) == 240 and all(i.expected_calls is None for i in irrelevance.items)


def test_function_docs_convert_as_bfcl_converts_them_for_native_calls() -> None:
    tool = bfcl.to_tool({"name": "a.b", "description": "d", "parameters": {"type": "dict", "required": ["x"], "properties": {
        "x": {"type": "float", "description": "x"}, "t": {"type": "tuple", "items": {"type": "integer"}},
        "o": {"type": "dict", "properties": {"k": {"type": "any"}}},
        "l": {"type": "array", "items": {"type": "dict", "properties": {"v": {"type": "float", "description": ""}}}}}}})
    props = tool["function"]["parameters"]["properties"]
    assert tool["function"]["name"] == "a.b"  # dots stay; native mode replaces them
    assert props["x"] == {"type": "number", "format": "float", "description": "x" + bfcl.FLOAT_NOTE}
    assert props["t"] == {"type": "array", "items": {"type": "integer"}}
    assert props["o"]["properties"]["k"]["type"] == "string"
    assert props["l"]["items"]["properties"]["v"]["type"] == "number"


@needs_bfcl
def test_a_conversation_keeps_its_system_prompt_and_history() -> None:
    items = load_suite("bfcl:live_irrelevance").suite.items
    item = next(i for i in items if i.history)
    assert item.system and item.history[0].role == "user" and item.history[-1].role == "assistant"
    phase = ToolUsePhase()
    (work,) = phase.plan(PlanContext(suites=[_only("live_irrelevance", item.id)], models=[LOCAL], config=FleetConfig(),
                                     options={"variants": "baseline"}))
    roles = [m.role for m in work.request.messages]
    assert roles == ["system", *[t.role for t in item.history], "user"]
    assert work.request.messages[0].content.startswith(item.system)


def _only(category: str, item_id: str) -> LoadedSuite:
    loaded = load_suite(f"bfcl:{category}")
    suite = loaded.suite.model_copy(update={"items": [i for i in loaded.suite.items if i.id == item_id]})
    return LoadedSuite(suite=suite, path=loaded.path, sha256=loaded.sha256)


@needs_bfcl
def test_native_mode_sends_underscored_names_and_prompt_mode_keeps_dots() -> None:
    phase = ToolUsePhase()
    ctx = PlanContext(suites=[_only("simple_python", "simple_python_1")], models=[SIM, LOCAL], config=FleetConfig(),
                      options={"variants": "baseline"})
    native, prompt = phase.plan(ctx)
    assert native.meta["mode"] == "native" and native.request.tools is not None
    assert native.request.tools[0]["function"]["name"] == "math_factorial"
    assert native.meta["tool_names"] == ["math_factorial"] and _names(native) == ["math_factorial"]
    assert prompt.meta["mode"] == "prompt" and prompt.request.tools is None
    assert prompt.meta["tool_names"] == ["math.factorial"] and _names(prompt) == ["math.factorial"]
    assert '"name": "math.factorial"' in prompt.request.messages[0].content
    assert prompt.meta["expected"] == [{"name": "math.factorial", "accepted": {"number": [5]}, "required": ["number"],
                                        "params": {"number": ["integer", None]}}]
    assert prompt.meta["irrelevance"] == "no_call"


def _names(item: WorkItem) -> list[str]:
    expected = item.meta["expected"]
    assert isinstance(expected, list)
    return [e["name"] for e in expected]


@needs_bfcl
@pytest.mark.parametrize("category", ["simple_python", "multiple", "parallel", "parallel_multiple", "live_simple",
                                      "live_parallel"])
def test_bfcls_own_answers_pass_in_both_modes(category: str) -> None:
    """Each item's first possible answer, sent natively and written as JSON text, passes;
    the only items it cannot pass are ones whose gold no reply can meet (listed)."""
    suite = load_suite(f"bfcl:{category}")
    phase = ToolUsePhase()
    items = phase.plan(PlanContext(suites=[suite], models=[SIM, LOCAL], config=FleetConfig(),
                                   options={"variants": "baseline"}))
    failed: set[str] = set()
    for work in items:
        expected = work.meta["expected"]
        assert isinstance(expected, list)
        calls = [{"name": e["name"], "arguments": bfcl.gold_arguments(e["accepted"], e["required"])} for e in expected]
        if work.meta["mode"] == "native":
            response = ProviderResponse(text="", tool_calls=[
                {"id": f"c{n}", "type": "function", "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
                for n, c in enumerate(calls)])
        else:
            response = ProviderResponse(text=json.dumps(calls if len(calls) > 1 else calls[0]))
        extra = phase.score(work, response)
        if extra["tool_passed"] is not True:
            failed.add(work.item_id)
    # their gold accepts no value for arguments they require: BFCL fails every reply to them
    assert failed <= {"live_simple_106-63-0", "live_simple_112-68-0"}, failed


@needs_bfcl
def test_irrelevance_items_pass_with_no_call_and_fail_with_one() -> None:
    phase = ToolUsePhase()
    items = phase.plan(PlanContext(suites=[load_suite("bfcl:irrelevance")], models=[LOCAL], config=FleetConfig(),
                                   limit=5, options={"variants": "baseline"}))
    assert len(items) == 5
    for work in items:
        assert phase.score(work, ProviderResponse(text="None of these tools can answer that."))["tool_passed"] is True
        names = work.meta["tool_names"]
        assert isinstance(names, list)
        call = json.dumps({"name": names[0], "arguments": {}})
        assert phase.score(work, ProviderResponse(text=call))["tool_failure"] == "spurious_call"


@needs_bfcl
def test_a_bfcl_suite_alone_runs_the_tool_use_phase() -> None:
    prepared = prepare_run(RunSpec(suites=["bfcl:simple_python"], limit=3, models=["sim/a"]))
    assert list(prepared.phases) == ["tool-use"] and len(prepared.plans["tool-use"]) == 3 * 4
    mixed = prepare_run(RunSpec(suites=["bfcl:simple_python", "baseline"], limit=1, models=["sim/a"],
                                phases=["baseline", "tool-use"]))
    assert {i.item_id for i in mixed.plans["tool-use"]} == {"simple_python_0"}


def test_bad_category_and_missing_package_are_input_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match=r"bfcl:simple_jave: unknown BFCL category \(known: simple_python"):
        load_suite("bfcl:simple_jave")
    monkeypatch.setattr(bfcl, "data_dir", lambda: None)
    with pytest.raises(InputError, match="bfcl-eval package is not installed; install it with"):
        load_suite("bfcl:simple_python")


@needs_bfcl
def test_the_default_tool_use_plan_samples_bfcl_beside_our_suite() -> None:
    """Our suite plus the same few BFCL items of each sampled category, every run."""
    quick = prepare_run(RunSpec(plan="quick", phases=["tool-use"], models=["sim/a"]))
    items = {(i.category, i.item_id) for i in quick.plans["tool-use"]}
    sampled = {c for c, _ in items if c.startswith(bfcl.PREFIX)}
    assert sampled == {bfcl.PREFIX + c for c in ToolUsePhase.QUICK_BFCL_CATEGORIES}  # the quick plan's two kinds
    assert sum(1 for c, _ in items if c.startswith(bfcl.PREFIX)) == len(ToolUsePhase.QUICK_BFCL_CATEGORIES)
    again = prepare_run(RunSpec(plan="quick", phases=["tool-use"], models=["sim/a"]))
    assert {(i.category, i.item_id) for i in again.plans["tool-use"]} == items
    full = prepare_run(RunSpec(phases=["tool-use"], models=["sim/a"], limit=1))
    assert {i.category for i in full.plans["tool-use"] if i.category.startswith(bfcl.PREFIX)} == {
        bfcl.PREFIX + c for c in bfcl.SAMPLE_CATEGORIES}
    assert sum(1 for i in full.plans["tool-use"] if i.category.startswith(bfcl.PREFIX)) == 2 * 4 * 4
    none = prepare_run(RunSpec(phases=["tool-use"], models=["sim/a"], limit=1, options={"bfcl_sample": 0}))
    assert not any(i.category.startswith(bfcl.PREFIX) for i in none.plans["tool-use"])
    with pytest.raises(InputError, match="--bfcl-sample"):
        prepare_run(RunSpec(phases=["tool-use"], models=["sim/a"], options={"bfcl_sample": "many"}))


def test_the_sample_is_empty_without_bfcl_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bfcl, "data_dir", lambda: None)
    assert bfcl.sample_suites(3) == []


@needs_bfcl
def test_the_sample_replies_get_our_suites_budget_and_a_bfcl_run_its_own() -> None:
    sampled = [i for i in prepare_run(RunSpec(plan="full", phases=["tool-use"], models=["sim/a"])).plans["tool-use"]
               if i.category.startswith(bfcl.PREFIX)]
    assert {i.request.max_tokens for i in sampled} == {bfcl.SAMPLE_MAX_TOKENS}  # the quick plan caps it lower
    (asked, *_) = prepare_run(RunSpec(suites=["bfcl:parallel"], limit=1, models=["sim/a"])).plans["tool-use"]
    assert asked.request.max_tokens == bfcl.MAX_TOKENS
