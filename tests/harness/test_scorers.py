"""Each constraint type passes on a conforming output and fails, with a reason, otherwise."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from harness.constraints import Constraint
from harness.scorers import ConstraintResult, adherence, check_constraints

_adapter: TypeAdapter[Any] = TypeAdapter(Constraint)


def _check(spec: dict[str, Any], output: str) -> ConstraintResult:
    (result,) = check_constraints(output, [_adapter.validate_python(spec)])
    return result


ROUTE_SCHEMA = {"type": "object", "required": ["route"], "properties": {"route": {"enum": ["a", "b"]}}}

CASES: list[tuple[dict[str, Any], str, str, str]] = [
    # spec, passing output, failing output, expected fragment of the failure detail
    ({"type": "json"}, ' {"a": 1}\n', '{"a": 1', "not valid JSON"),
    ({"type": "json", "schema": ROUTE_SCHEMA}, '{"route": "a"}', '{"route": "c"}', "schema: route"),
    ({"type": "json"}, "[1, 2]", 'Here it is: {"a": 1', "not valid JSON"),
    ({"type": "json"}, "[1, 2]", 'Here it is: {"a": 1}', "valid JSON wrapped in prose"),
    ({"type": "json"}, "[1, 2]", 'Sure:\n```json\n{"a": 1}\n```', "valid JSON wrapped in code fence"),
    ({"type": "contains", "values": ["Paris", "France"]}, "paris is in france", "Paris only", "missing 'France'"),
    ({"type": "contains", "values": ["x", "y"], "mode": "any"}, "only y", "neither", "none of"),
    ({"type": "contains", "values": ["Paris"], "case_sensitive": True}, "Paris", "paris", "missing"),
    ({"type": "not_contains", "values": ["As an AI"]}, "Sure.", "as an ai, I cannot", "contains 'As an AI'"),
    ({"type": "regex", "pattern": r"\b42\b"}, "It is 42.", "It is 420.", "no match"),
    ({"type": "regex", "pattern": "negative", "fullmatch": True, "ignore_case": True}, " Negative\n",
     "It is negative", "no fullmatch"),
    ({"type": "bullets", "count": 3}, "Intro:\n- a\n* b\n1. c", "- a\n- b", "2 bullets, expected 3"),
    ({"type": "bullets", "count": 2, "only": True}, "\u2022 a\n2) b\n", "Points:\n- a\n- b", "non-bullet"),
    ({"type": "command_only"}, "ls -lhS\n", "Use this command: ls -lhS", "prose"),
    ({"type": "command_only"}, "du -sh * | sort -rh", "```bash\nls -lhS\n```", "code fence"),
    ({"type": "command_only"}, "ls -la .", "`ls -lhS`", "backticks"),
    ({"type": "command_only"}, "find . -type f", "ls -lhS\nThis lists files by size.", "2 lines"),
    ({"type": "command_only", "commands": ["ls", "du"]}, "sudo du -sh .", "stat *", "starts with 'stat'"),
    ({"type": "length", "min_chars": 3, "max_chars": 10}, "  hello  ", "hi", "2 chars < 3"),
    ({"type": "length", "max_chars": 5}, "short", "too long!", "9 chars > 5"),
    ({"type": "length", "max_lines": 1}, "one line\n", "one\ntwo", "2 lines > 1"),
    ({"type": "length", "max_words": 3}, "one two three", "one two three four", "4 words > 3"),
]


@pytest.mark.parametrize(("spec", "good", "bad", "detail"), CASES, ids=[f"{c[0]['type']}-{i}" for i, c in enumerate(CASES)])
def test_constraint_pass_and_fail(spec: dict[str, Any], good: str, bad: str, detail: str) -> None:
    passed = _check(spec, good)
    assert passed.passed, passed.detail
    assert passed.type == spec["type"]
    failed = _check(spec, bad)
    assert not failed.passed
    assert detail in failed.detail


def test_json_in_code_fence_is_format_drift() -> None:
    result = _check({"type": "json"}, '```json\n{"a": 1}\n```')
    assert not result.passed
    assert result.detail == "wrapped in code fence"


def test_adherence() -> None:
    results = check_constraints("42", [_adapter.validate_python({"type": "regex", "pattern": "42"}),
                                       _adapter.validate_python({"type": "json", "schema": {"type": "string"}})])
    assert [r.passed for r in results] == [True, False]
    assert adherence(results) == 0.5
    assert adherence([]) is None


@pytest.mark.parametrize("spec", [
    {"type": "regex", "pattern": "(unclosed"},
    {"type": "json", "schema": {"type": "no-such-type"}},
    {"type": "length"},
    {"type": "length", "min_chars": 10, "max_chars": 5},
    {"type": "bullets", "count": 0},
    {"type": "contains", "values": []},
    {"type": "sentiment"},
])
def test_bad_constraint_specs_are_rejected(spec: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _adapter.validate_python(spec)
