"""One argument of one tool call against its accepted answers, by the Berkeley Function Calling
Leaderboard's rules (a port of `bfcl_eval/eval_checker/ast_eval/ast_checker.py`, Python).

Why a port and not "close enough": fleetbench reports BFCL categories next to BFCL's own
numbers, so a verdict must be the one BFCL's checker gives on the same call
(`benchmarks/bfcl_agreement.py` measures that). The rules, as BFCL has them:
- The expected type comes from the tool's schema (`integer`, `float`/`number`, `string`,
  `boolean`, `array`/`tuple`, `dict`/`object`, `any` = string). A value must have exactly
  that Python type (`True` is not an integer), except that an integer is a valid float.
- Arrays check their items' type one level deep, against each accepted list in turn.
- When the accepted answers have another type than the schema's (the gold names a variable,
  say a string for an integer parameter), a value of the answers' type passes the type check
  and is then compared as is.
- Values must be among the accepted answers. Strings (also inside lists and dicts) are
  compared after BFCL's standardisation: spaces and `,./-_*^` removed, lower case, `'` as
  `"`. Lists compare in order; dicts key by key (a key the answer lacks fails, a missing key
  fails unless "" is among its answers); lists of dicts item by item.
- "" among an argument's answers means the argument is optional and may be left out.
Pure functions on JSON values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# BFCL's type names and the JSON Schema names our tools carry (its conversion for native
# function calling maps float -> number, dict -> object, tuple -> array, any -> string)
PYTHON_TYPES: dict[str, type] = {
    "string": str, "integer": int, "float": float, "number": float, "boolean": bool,
    "array": list, "tuple": list, "dict": dict, "object": dict, "any": str,
}
_NESTED = frozenset({"array", "tuple"})
_STANDARDISE_RE = re.compile(r"[ \,\.\/\-\_\*\^]")


@dataclass(frozen=True, slots=True)
class ParamType:
    """A parameter's schema type and, for arrays, its items' type (None: unknown)."""

    type: str
    items: str | None = None


def standardize_string(value: str) -> str:
    """BFCL's string form for comparison: "April 1, 2024" == "april 1 2024" == "April1,2024"."""
    return _STANDARDISE_RE.sub("", value).lower().replace("'", '"')


def answer_type(answers: Sequence[Any]) -> type | None:
    """The type of the first answer that is not "" (the optional marker)."""
    for answer in answers:
        if answer != "":
            return type(answer)
    return None


def _items_ok(values: Any, candidate: list[Any], nested: type) -> bool:
    return all(type_ok(item, candidate, nested, None)[0] for item in values)


def type_ok(value: Any, answers: Sequence[Any], want: type | None, nested: type | None) -> tuple[bool, bool]:
    """(passes, is_variable): BFCL's `type_checker`."""
    got = answer_type(answers)
    is_variable = got is not None and got is not want
    if type(value) is want:
        if nested is None:
            return True, is_variable
        for candidate in answers:
            if type(candidate) is list and not _items_ok(value, candidate, nested):
                continue
            return True, is_variable
        return False, is_variable
    if got is not None and type(value) is got:
        return True, True
    return False, False


def _standardised(values: Sequence[Any]) -> list[Any]:
    return [standardize_string(v) if type(v) is str else v for v in values]


def _list_answer(candidate: Any) -> list[Any] | None:
    """A list answer standardised item by item; "" (optional) becomes [] as in BFCL."""
    if isinstance(candidate, (list, str)):
        return _standardised([candidate[i] for i in range(len(candidate))])
    return None


def dict_ok(value: Any, answers: Sequence[Any]) -> bool:
    """BFCL's `dict_checker`: some non-"" answer dict matches key by key."""
    if not isinstance(value, dict):
        return False
    for candidate in answers:
        if candidate == "" or not isinstance(candidate, Mapping):
            continue
        ok = True
        for key, item in value.items():
            if key not in candidate:
                ok = False
                break
            got = standardize_string(item) if type(item) is str else item
            accepted = candidate[key]
            if not isinstance(accepted, (list, str)) or got not in _standardised(list(accepted)):
                ok = False
                break
        if ok and all(key in value or "" in accepted for key, accepted in candidate.items()):
            return True
    return False


def list_of_dicts_ok(value: Any, answers: Sequence[Any]) -> bool:
    """BFCL's `list_dict_checker`: some answer list of dicts matches item by item."""
    if not isinstance(value, list):
        return False
    for candidate in answers:
        if not isinstance(candidate, (list, str)) or len(value) != len(candidate):
            continue
        if all(dict_ok(item, [candidate[i]]) for i, item in enumerate(value)):
            return True
    return False


def value_ok(value: Any, answers: Sequence[Any], want: type | None, nested: type | None, is_variable: bool) -> bool:
    """Whether a value (already of an accepted type) is among the answers."""
    if not is_variable:
        if want is dict:
            return dict_ok(value, answers)
        if want is list and nested is dict:
            return list_of_dicts_ok(value, answers)
        if want is str:
            return type(value) is str and standardize_string(value) in _standardised(
                [a for a in answers if type(a) is str])
        if want is list:
            lists = [_list_answer(a) for a in answers]
            return type(value) is list and _standardised(value) in [a for a in lists if a is not None]
    return value in answers


def argument_failure(value: Any, answers: Sequence[Any], param: ParamType | None) -> str | None:
    """None when the value passes; else "type" or "value" (which rule it broke)."""
    want = PYTHON_TYPES.get(param.type) if param is not None else None
    if want is None:  # no schema type: the answers' own type is the expected one
        want = answer_type(answers)
    nested = PYTHON_TYPES.get(param.items) if param is not None and param.type in _NESTED and param.items else None
    if param is not None and param.type in ("float", "number") and type(value) is int:
        value = float(value)  # Python's int -> float leniency, as BFCL allows it
    passed, is_variable = type_ok(value, answers, want, nested)
    if not passed:
        return "type"
    return None if value_ok(value, answers, want, nested, is_variable) else "value"


def schema_params(function: Mapping[str, Any]) -> dict[str, ParamType]:
    """Each parameter's type from an OpenAI-style function schema (`parameters.properties`)."""
    params = function.get("parameters") or {}
    properties = params.get("properties") if isinstance(params, Mapping) else None
    out: dict[str, ParamType] = {}
    for name, schema in (properties or {}).items():
        if not isinstance(schema, Mapping):
            continue
        items = schema.get("items")
        item_type = items.get("type") if isinstance(items, Mapping) else None
        out[str(name)] = ParamType(type=str(schema.get("type", "string")),
                                   items=str(item_type) if isinstance(item_type, str) else None)
    return out
