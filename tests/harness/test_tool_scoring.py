"""The scorer on hand-made cases: every BFCL rule and every failure class."""

from __future__ import annotations

from typing import Any

import pytest

from harness.tool_args import argument_failure
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
    ParamType,
    parse_prompt_mode_calls,
    score_calls,
    score_prompt_mode,
)

TOOLS = ["get_weather", "convert_currency", "calculate_tip"]
WEATHER = ExpectedCall("get_weather", {"city": ["Paris", "Paris, France"], "unit": ["celsius", ""]}, ["city"])
TIP = ExpectedCall("calculate_tip", {"bill": [84.5], "percent": [18]}, ["bill", "percent"])
MONEY = ExpectedCall("convert_currency", {"amount": [100], "from_currency": ["GBP"], "to_currency": ["JPY"]},
                     ["amount", "from_currency", "to_currency"])


def call(name: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "arguments": args}


@pytest.mark.parametrize(("calls", "expected", "failure"), [
    ([call("get_weather", city="Paris")], [WEATHER], None),
    ([call("get_weather", city="  paris, FRANCE. ", unit="Celsius")], [WEATHER], None),  # standardised strings
    ([call("get_weather", city="Paris!")], [WEATHER], WRONG_VALUE),  # "!" is not among BFCL's removed marks
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


def test_int_is_a_valid_float_but_not_the_reverse_by_the_schema_type() -> None:
    money = ExpectedCall("convert_currency", {"amount": [100.0], "from_currency": ["GBP"], "to_currency": ["JPY"]},
                         ["amount", "from_currency", "to_currency"],
                         params={"amount": ParamType("number"), "from_currency": ParamType("string"),
                                 "to_currency": ParamType("string")})
    assert score_calls([call("convert_currency", amount=100, from_currency="GBP", to_currency="JPY")], [money],
                       TOOLS).passed
    tip = ExpectedCall("calculate_tip", {"bill": [84.5], "percent": [18]}, ["bill", "percent"],
                       params={"bill": ParamType("number"), "percent": ParamType("integer")})
    assert score_calls([call("calculate_tip", bill=84.5, percent=18.0)], [tip], TOOLS).failure == WRONG_TYPE
    # the schema's type wins over the answers' (BFCL): "integer" with the answer 84 written as an int
    assert score_calls([call("calculate_tip", bill=84.5, percent=True)], [tip], TOOLS).failure == WRONG_TYPE


def test_optional_marker_missing_non_optional_and_unknown_to_schema() -> None:
    params = {"city": ParamType("string"), "unit": ParamType("string")}
    optional = ExpectedCall("get_weather", {"city": ["Paris"], "unit": ["celsius", ""]}, ["city"], params=params)
    demanded = ExpectedCall("get_weather", {"city": ["Paris"], "unit": ["celsius"]}, ["city"], params=params)
    assert score_calls([call("get_weather", city="Paris")], [optional], TOOLS).passed
    # BFCL: an argument whose answers lack "" must be sent, though the schema does not require it
    assert score_calls([call("get_weather", city="Paris")], [demanded], TOOLS).failure == MISSING_ARGUMENT
    # an argument with answers but missing from the schema is unexpected
    narrow = ExpectedCall("get_weather", {"city": ["Paris"], "unit": ["celsius", ""]}, ["city"],
                          params={"city": ParamType("string")})
    assert score_calls([call("get_weather", city="Paris", unit="celsius")], [narrow], TOOLS).failure == \
        UNEXPECTED_ARGUMENT
    # no answer at all accepts nothing (BFCL data has such gold: no reply can pass it)
    impossible = ExpectedCall("get_weather", {"city": []}, ["city"], params=params)
    assert score_calls([call("get_weather", city="Paris")], [impossible], TOOLS).failure == WRONG_VALUE
    assert score_calls([call("get_weather")], [impossible], TOOLS).failure == MISSING_ARGUMENT


@pytest.mark.parametrize(("value", "answers", "param", "broken"), [
    ("April 1, 2024", ["april 1 2024"], ParamType("string"), None),
    ("New_York-City", ["new york city"], ParamType("string"), None),
    ("it's", ['it"s'], ParamType("string"), None),        # ' compares as "
    ("Paris ", ["paris\t"], ParamType("string"), "value"),  # only spaces go, not tabs
    (["A", "b"], [["a", "B"]], ParamType("array", "string"), None),
    (["b", "a"], [["a", "b"]], ParamType("array", "string"), "value"),  # lists keep their order
    ([1, 2], [[1.0, 2.0]], ParamType("array", "float"), "type"),  # no int leniency inside lists
    ([1, 2], [[1, 2]], ParamType("array", "float"), None),  # answers of another type: a "variable"
    ([], ["", [1]], ParamType("array", "integer"), None),  # "" makes [] an accepted list
    ("x", [5], ParamType("integer"), "type"),
    ("my_var", ["my_var"], ParamType("integer"), None),  # the gold names a variable
    ("My_Var", ["my_var"], ParamType("integer"), "value"),  # ... compared as is, not standardised
    ({"k": "Big Apple"}, [{"k": ["big apple"]}], ParamType("dict"), None),
    ({"k": "x", "z": 1}, [{"k": ["x"]}], ParamType("dict"), "value"),  # a key the answer lacks
    ({}, [{"k": ["x", ""]}], ParamType("dict"), None),  # a key may be missing where "" is accepted
    ([{"k": "A"}], [[{"k": ["a"]}]], ParamType("array", "dict"), None),
    ([{"k": "A"}, {"k": "b"}], [[{"k": ["a"]}]], ParamType("array", "dict"), "value"),
    (2, [2.0], ParamType("float"), None),
    (True, [1], ParamType("integer"), "type"),
    (3, [3], None, None),  # no schema: the answers' type stands in
])
def test_argument_rules_as_bfcl_has_them(value: Any, answers: list[Any], param: ParamType | None,
                                         broken: str | None) -> None:
    assert argument_failure(value, answers, param) == broken


def test_parallel_matching_is_bfcls_greedy_order_free_matching() -> None:
    params = {"city": ParamType("string"), "unit": ParamType("string")}
    either = ExpectedCall("get_weather", {"city": ["Paris", "Rome"], "unit": ["", "celsius"]}, ["city"], params=params)
    rome = ExpectedCall("get_weather", {"city": ["Rome"]}, ["city"], params=params)
    paris, rome_call = call("get_weather", city="Paris"), call("get_weather", city="Rome")
    assert score_calls([paris, rome_call], [either, rome], TOOLS).passed
    assert score_calls([rome_call, paris], [rome, either], TOOLS).passed
    # the case where BFCL's matching depends on order: `either` takes the first call that fits
    # it (Rome), leaving Paris for `rome`; the reversed order passes
    assert not score_calls([rome_call, paris], [either, rome], TOOLS).passed
    assert score_calls([paris, rome_call], [either, rome], TOOLS).passed


def test_irrelevance_by_bfcls_rule_passes_whenever_no_call_decodes() -> None:
    shell = "Sure, run this:\n```bash\nrm -rf /tmp/*\n```"
    assert score_calls([], None, TOOLS, text=shell, irrelevance="no_call").passed
    assert score_calls([], None, TOOLS, text=shell).failure == HALLUCINATED_TOOL
    broken = [{"name": "get_weather", "arguments": "{not json"}]
    assert score_calls(broken, None, TOOLS, irrelevance="no_call").passed  # undecodable: no call
    assert score_calls([call("rm_rf")], None, TOOLS, irrelevance="no_call").failure == SPURIOUS_CALL
    prose = 'Calling it: {"name": "get_weather", "arguments": {"city": "Paris"}}'
    assert score_prompt_mode(prose, None, TOOLS, "json", irrelevance="no_call")[0].passed
    assert score_prompt_mode(prose, None, TOOLS, "json")[0].failure == SPURIOUS_CALL
    drift = 'get_weather(city="Paris")'
    assert score_prompt_mode(drift, [], TOOLS, "json", irrelevance="no_call")[0].passed
    assert score_prompt_mode(drift, [], TOOLS, "json")[0].failure == FORMAT_DRIFT


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
