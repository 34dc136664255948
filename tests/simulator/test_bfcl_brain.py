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
from simulator.brains_bfcl import NO_CALL_TEXT, BfclAnswer, bfcl_text

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
