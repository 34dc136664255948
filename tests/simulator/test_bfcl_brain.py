"""The simulator's BFCL brain: BFCL's gold for the question, altered one scripted way, written
as prompt-mode text that fleetbench's tool-use phase scores with the failure it scripted."""

from __future__ import annotations

import json

import pytest

from agents import bfcl
from agents.config import FleetConfig
from agents.phases.base import PlanContext
from agents.phases.tool_use import ToolUsePhase
from agents.suite import load_suite
from harness.model_ref import ModelRef
from harness.seam import ProviderResponse
from simulator.brains import make_output
from simulator.brains_bfcl import NO_CALL_TEXT, BfclAnswer, bfcl_native_call, bfcl_text
from simulator.config import BrainConfig, OutputSpec

pytestmark = pytest.mark.skipif(bfcl.data_dir() is None, reason="bfcl-eval is not installed (scripts/setup.sh)")


@pytest.mark.parametrize("how,failure", [
    ("correct", None), ("wrong_type", "wrong_type"), ("missing_parameter", "missing_argument"),
    ("extra_parameter", "unexpected_argument"), ("reversed", None), ("no_call", "refusal"),
    ("wrong_value", "wrong_value"), ("extra_call", "wrong_count"),
    ("int_as_float", "wrong_type"),  # the item's parameters are integers: 10.0 is no integer (BFCL)
])
def test_each_scripted_answer_scores_as_the_failure_it_scripts(how: BfclAnswer, failure: str | None) -> None:
    phase = ToolUsePhase()
    category = "parallel" if how in ("reversed", "extra_call") else "simple_python"
    (work,) = phase.plan(PlanContext(suites=[load_suite(f"bfcl:{category}")], models=[ModelRef.parse("local/x")],
                                     config=FleetConfig(), limit=1, options={"variants": "baseline"}))
    text = bfcl_text(work.request.messages[-1].content, how, work.request.messages[0].content)
    extra = phase.score(work, ProviderResponse(text=text))
    assert extra["tool_failure"] == failure and extra["tool_passed"] is (failure is None)


def test_xml_prompts_get_tool_call_blocks_and_irrelevance_gets_no_call() -> None:
    item = load_suite("bfcl:simple_python").suite.items[0]
    assert bfcl_text(item.prompt, "correct", "reply with <tool_call>...</tool_call>").startswith("<tool_call>{")
    assert json.loads(bfcl_text(item.prompt, "correct", ""))[0]["name"] == "calculate_triangle_area"
    irrelevant = load_suite("bfcl:irrelevance").suite.items[0]
    assert bfcl_text(irrelevant.prompt, "correct", "") == NO_CALL_TEXT
    assert json.loads(bfcl_text(irrelevant.prompt, "wrong_type", ""))[0]["arguments"] == {}


def test_natively_offered_tools_get_the_first_call_under_the_offered_name() -> None:
    item = next(i for i in load_suite("bfcl:simple_python").suite.items if "." in i.tools[0]["function"]["name"])
    dotted = item.tools[0]["function"]["name"]
    offered = [{"type": "function", "function": {"name": dotted.replace(".", "_")}}]
    call = bfcl_native_call(item.prompt, "correct", offered)
    assert call is not None and call[0] == dotted.replace(".", "_")
    assert bfcl_native_call(item.prompt, "correct", [{"name": dotted}]) == (dotted, call[1])  # Anthropic's shape
    assert bfcl_native_call(item.prompt, "no_call", offered) is None
    assert bfcl_native_call(item.prompt, "correct", []) is None
    output = make_output(BrainConfig(output=OutputSpec(kind="bfcl")), item.prompt, None, tools=offered)
    assert output.is_tool_call and output.tool_name == call[0] and output.tool_arguments == call[1]
    text = make_output(BrainConfig(output=OutputSpec(kind="bfcl")), item.prompt, None)
    assert not text.is_tool_call and json.loads("".join(text.chunks))[0]["name"] == dotted
