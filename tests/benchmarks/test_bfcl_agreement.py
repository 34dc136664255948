"""The agreement benchmark's own parts: a recorded reply decoded as fleetbench decoded it, and
verdicts compared per category with every disagreement kept (BFCL's checker replaced by a
stand-in that disagrees once, so no side venv is needed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from bfcl_agreement import compare, decoded, report

from agents import bfcl
from harness.records import CallRecord


def _record(item: str, category: str, passed: bool, extra: dict[str, Any], output: str = "") -> CallRecord:
    return CallRecord(run_id="r", phase="tool-use", item_id=item, model="sim/bfcl-correct-sim", variant="baseline",
                      repeat=0, category=bfcl.PREFIX + category, status="ok", output=output,
                      extra={"tool_passed": passed, "tool_failure": None if passed else "wrong_value", **extra})


def test_replies_decode_as_fleetbench_decoded_them() -> None:
    prompt = {"tool_mode": "prompt", "tool_style": "json"}
    assert decoded(_record("a", "simple_python", True, prompt, '{"name": "f", "arguments": {"x": 1}}')) == [{"f": {"x": 1}}]
    assert decoded(_record("a", "simple_python", False, prompt, 'Sure: {"name": "f", "arguments": {}}')) is None
    assert decoded(_record("a", "irrelevance", True, prompt, "[]")) == []
    xml = {"tool_mode": "prompt", "tool_style": "xml"}
    assert decoded(_record("a", "parallel", True, xml, '<tool_call>{"name": "f", "arguments": {}}</tool_call>' * 2)) \
        == [{"f": {}}, {"f": {}}]
    native = {"tool_mode": "native", "tool_calls": [{"function": {"name": "f", "arguments": '{"x": 2}'}}]}
    assert decoded(_record("a", "simple_python", True, native)) == [{"f": {"x": 2}}]
    assert decoded(_record("a", "simple_python", False, {"tool_mode": "native", "tool_calls": []})) is None


@pytest.mark.skipif(bfcl.data_dir() is None, reason="bfcl-eval is not installed (scripts/setup.sh)")
def test_verdicts_are_compared_per_category_and_every_disagreement_is_kept(tmp_path: Path) -> None:
    stand_in = tmp_path / "checker.py"  # agrees with fleetbench except on item simple_python_1
    stand_in.write_text("import json, sys\nfor line in sys.stdin:\n    c = json.loads(line)\n"
                        "    ok = c['decoded'] is not None and c['key'].split('|')[3] != 'simple_python_1'\n"
                        "    print(json.dumps({'key': c['key'], 'valid': ok, 'error_type': '' if ok else 'value_error'}))\n")
    prompt = {"tool_mode": "prompt", "tool_style": "json"}
    call = '{"name": "f", "arguments": {}}'
    recs = [_record("simple_python_0", "simple_python", True, prompt, call),
            _record("simple_python_1", "simple_python", True, prompt, call),
            _record("multiple_0", "multiple", False, prompt, "no")]
    result = compare(recs, Path(sys.executable), checker=stand_in)
    assert result["categories"]["simple_python"]["outputs"] == 2
    assert result["categories"]["simple_python"]["agree"] == 1 and result["categories"]["multiple"]["agree"] == 1
    (d,) = result["disagreements"]
    assert (d["category"], d["ours"], d["bfcl"], d["count"]) == ("simple_python", "passed", "value_error", 1)
    assert "| simple_python | 2 | 0 | 2 | 1 | 50.00% |" in report(result)
    json.dumps(result)  # the --json file
