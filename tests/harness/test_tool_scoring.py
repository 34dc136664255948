"""The BFCL-style scorer on hand-made cases: every rule and every failure class."""

from __future__ import annotations

from typing import Any

import pytest

from harness.tool_scoring import (
    EXTRA_PROSE,
    FORMAT_DRIFT,
    HALLUCINATED_TOOL,
    MISSING_ARGUMENT,
    REFUSAL,
    SPURIOUS_CALL,
    UNEXPECTED_ARGUMENT,
    WRONG_COUNT,
    WRONG_FUNCTION,
    WRONG_TYPE,
    WRONG_VALUE,
    ExpectedCall,
    parse_prompt_mode_calls,
    score_calls,
    score_prompt_mode,
)

TOOLS = ["get_weather", "convert_currency", "calculate_tip"]
WEATHER = ExpectedCall("get_weather", {"city": ["Paris", "Paris, France"], "unit": ["celsius"]}, ["city"])
TIP = ExpectedCall("calculate_tip", {"bill": [84.5], "percent": [18]}, ["bill", "percent"])
MONEY = ExpectedCall("convert_currency", {"amount": [100], "from_currency": ["GBP"], "to_currency": ["JPY"]},
                     ["amount", "from_currency", "to_currency"])


def call(name: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "arguments": args}


@pytest.mark.parametrize(("calls", "expected", "failure"), [
    ([call("get_weather", city="Paris")], [WEATHER], None),
    ([call("get_weather", city="  paris, FRANCE. ", unit="Celsius")], [WEATHER], None),  # normalised strings
    ([call("rm_rf", path="/")], [WEATHER], HALLUCINATED_TOOL),
    ([call("convert_currency", amount=1, from_currency="EUR", to_currency="USD")], [WEATHER], WRONG_FUNCTION),
    ([call("get_weather", unit="celsius")], [WEATHER], MISSING_ARGUMENT),
    ([call("get_weather", city="Paris", country="FR")], [WEATHER], UNEXPECTED_ARGUMENT),
    ([call("calculate_tip", bill="84.5", percent=18)], [TIP], WRONG_TYPE),          # str for float
    ([call("calculate_tip", bill=84.5, percent=18.0)], [TIP], WRONG_TYPE),          # float for int
    ([call("calculate_tip", bill=84.5, percent=True)], [TIP], WRONG_TYPE),          # bool is not int
    ([call("get_weather", city=["Paris"])], [WEATHER], WRONG_TYPE),                 # list for str
    ([call("calculate_tip", bill=84.5, percent=20)], [TIP], WRONG_VALUE),
    ([call("get_weather", city="London")], [WEATHER], WRONG_VALUE),
    ([call("convert_currency", amount=100, from_currency="gbp", to_currency="JPY")], [MONEY], None),
    ([call("convert_currency", amount=100.0, from_currency="GBP", to_currency="JPY")], [MONEY], WRONG_TYPE),
    ([], [WEATHER], REFUSAL),
    ([call("get_weather", city="Paris")], None, SPURIOUS_CALL),
    ([call("get_weather", city="Paris")], [], SPURIOUS_CALL),
    ([], None, None),
    ([{"name": "get_weather", "arguments": "{not json"}], [WEATHER], FORMAT_DRIFT),
    ([call("get_weather", city="Paris")], [WEATHER, TIP], WRONG_COUNT),
])
def test_score_calls_rules(calls: list[dict[str, Any]], expected: list[ExpectedCall] | None,
                           failure: str | None) -> None:
    verdict = score_calls(calls, expected, TOOLS)
    assert verdict.failure == failure, verdict.detail
    assert verdict.passed is (failure is None)


def test_int_is_a_valid_float_and_any_value_list_accepts_all() -> None:
    assert score_calls([call("calculate_tip", bill=84, percent=18)],
                       [ExpectedCall("calculate_tip", {"bill": [84.0], "percent": [18]}, ["bill"])], TOOLS).passed
    free = ExpectedCall("get_weather", {"city": []}, ["city"])
    assert score_calls([call("get_weather", city=42)], [free], TOOLS).passed


def test_parallel_calls_match_in_any_order_and_openai_shape_is_normalised() -> None:
    openai_shape = {"id": "c1", "type": "function",
                    "function": {"name": "convert_currency",
                                 "arguments": '{"amount": 100, "from_currency": "GBP", "to_currency": "JPY"}'}}
    calls = [openai_shape, call("get_weather", city="Paris")]
    assert score_calls(calls, [WEATHER, MONEY], TOOLS).passed
    swapped_wrong = [call("get_weather", city="Rome"), openai_shape]
    assert score_calls(swapped_wrong, [WEATHER, MONEY], TOOLS).failure == WRONG_VALUE
    tokyo = ExpectedCall("get_weather", {"city": ["Tokyo"]}, ["city"])
    berlin = ExpectedCall("get_weather", {"city": ["Berlin"]}, ["city"])
    assert score_calls([call("get_weather", city="berlin"), call("get_weather", city="Tokyo")],
                       [tokyo, berlin], TOOLS).passed


def test_shell_command_instead_of_call_is_hallucinated_not_refusal() -> None:
    text = "Sure, run this:\n```bash\nrm -rf /tmp/*\n```"
    assert score_calls([], [WEATHER], TOOLS, text=text).failure == HALLUCINATED_TOOL
    assert score_calls([], None, TOOLS, text=text).failure == HALLUCINATED_TOOL
    assert score_calls([], [WEATHER], TOOLS, text="I cannot check the weather.").failure == REFUSAL


def test_parse_prompt_mode_strict_and_lenient() -> None:
    one = '{"name": "get_weather", "arguments": {"city": "Paris"}}'
    assert parse_prompt_mode_calls(one, "json") == [call("get_weather", city="Paris")]
    assert parse_prompt_mode_calls(f"[{one}, {one}]", "json") == [call("get_weather", city="Paris")] * 2
    assert parse_prompt_mode_calls("[]", "json") == []
    prose = f"Here is the call: {one} Hope that helps!"
    assert parse_prompt_mode_calls(prose, "json") is None
    assert parse_prompt_mode_calls(prose, "json", strict=False) == [call("get_weather", city="Paris")]
    assert parse_prompt_mode_calls(f"<thinking>the weather tool fits</thinking>\n{one}", "json") is not None
    xml = f"<tool_call>{one}</tool_call>\n<tool_call>{one}</tool_call>"
    assert parse_prompt_mode_calls(xml, "xml") == [call("get_weather", city="Paris")] * 2
    assert parse_prompt_mode_calls(f"Calling: <tool_call>{one}</tool_call>", "xml") is None
    assert parse_prompt_mode_calls(f"Calling: <tool_call>{one}</tool_call>", "xml", strict=False) is not None
    assert parse_prompt_mode_calls("no calls here", "json", strict=False) is None


@pytest.mark.parametrize(("text", "style", "expected", "failure"), [
    ('{"name": "get_weather", "arguments": {"city": "Paris"}}', "json", [WEATHER], None),
    ('I will call it: {"name": "get_weather", "arguments": {"city": "Paris"}}', "json", [WEATHER], EXTRA_PROSE),
    ('I will call it: {"name": "get_weather", "arguments": {"city": "Rome"}}', "json", [WEATHER], WRONG_VALUE),
    ('get_weather(city="Paris")', "json", [WEATHER], FORMAT_DRIFT),
    ('{"name": "get_weather", "arguments": {"city": "Paris"', "json", [WEATHER], FORMAT_DRIFT),
    ('<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>', "xml", [WEATHER], None),
    ('{"name": "get_weather", "arguments": {"city": "Paris"}}', "xml", [WEATHER], FORMAT_DRIFT),
    ("I'm sorry, I can't do that.", "json", [WEATHER], REFUSAL),
    ("The capital of Australia is Canberra.", "json", None, None),
    ('{"name": "search_web", "arguments": {"q": "x"}}', "json", [WEATHER], HALLUCINATED_TOOL),
    ('{"name": "get_weather", "arguments": {"city": "Paris"}}', "json", None, SPURIOUS_CALL),
])
def test_score_prompt_mode(text: str, style: str, expected: list[ExpectedCall] | None, failure: str | None) -> None:
    verdict, _ = score_prompt_mode(text, expected, TOOLS, "xml" if style == "xml" else "json")
    assert verdict.failure == failure, verdict.detail
