"""Tool-call scoring in the style of the Berkeley Function Calling Leaderboard (AST checks).

Why AST-style checks rather than executing calls: fleetbench never runs a tool a model asks
for (a hallucinated `rm_rf` must stay words), and structural checks (name, arguments, types,
accepted values) are deterministic and explain *why* a call failed. The failure class is the
point: "Tier 3" models fail in different ways (format drift, invented commands, refusing to
call), and a better prompt only helps if we can see which failure it removed.

Pure functions, no I/O: the phase scores records, tests score hand-made cases.
"""

from __future__ import annotations

import itertools
import json
import re
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

PromptStyle = Literal["json", "xml"]

HALLUCINATED_TOOL = "hallucinated_tool"
WRONG_FUNCTION = "wrong_function"
WRONG_COUNT = "wrong_count"
MISSING_ARGUMENT = "missing_argument"
UNEXPECTED_ARGUMENT = "unexpected_argument"
WRONG_TYPE = "wrong_type"
WRONG_VALUE = "wrong_value"
REFUSAL = "refusal"
EXTRA_PROSE = "extra_prose"
FORMAT_DRIFT = "format_drift"
SPURIOUS_CALL = "spurious_call"

FAILURE_CLASSES: tuple[str, ...] = (
    HALLUCINATED_TOOL, WRONG_FUNCTION, WRONG_COUNT, MISSING_ARGUMENT, UNEXPECTED_ARGUMENT,
    WRONG_TYPE, WRONG_VALUE, REFUSAL, EXTRA_PROSE, FORMAT_DRIFT, SPURIOUS_CALL,
)

# per-pair severity, used to pick the most plausible pairing of calls to expectations
_SEVERITY = {None: 0, WRONG_VALUE: 1, WRONG_TYPE: 2, UNEXPECTED_ARGUMENT: 3, MISSING_ARGUMENT: 4,
             WRONG_FUNCTION: 5}
_MAX_PERMUTED = 6  # beyond this many calls, pair greedily instead of trying every order

_PUNCT = str.maketrans("", "", string.punctuation)
_THINK_RE = re.compile(r"<(think|thinking)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_XML_CALL_RE = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL | re.IGNORECASE)
_SHELL_FENCE_RE = re.compile(r"```(?:bash|sh|shell|zsh|console)\b", re.IGNORECASE)
_SHELL_LINE_RE = re.compile(
    r"^\s*(?:\$\s+\S|sudo\s|rm\s+-|curl\s+\S|wget\s+\S|ls\s+-|cd\s+\S|cat\s+\S|grep\s+\S|"
    r"pip\s+install|apt(?:-get)?\s+install|git\s+\S|chmod\s|mkdir\s|python\s+\S)",
    re.MULTILINE)
_CALL_LIKE_RE = re.compile(r"<\s*/?\s*tool_call|\"name\"\s*:|'name'\s*:|\"arguments\"|\bfunction_call\b",
                           re.IGNORECASE)


@dataclass(frozen=True)
class ExpectedCall:
    """One call the item wants. `accepted[arg]` lists every acceptable value (an empty list
    accepts any value of any type); `required` must all be present; any other argument the
    model sends must still be a key of `accepted` (the schema's optional parameters)."""

    name: str
    accepted: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    required: Sequence[str] = ()


@dataclass(frozen=True)
class ToolVerdict:
    passed: bool
    failure: str | None = None
    detail: str = ""


_PASS = ToolVerdict(True, None, "")


def _fail(failure: str, detail: str) -> ToolVerdict:
    return ToolVerdict(False, failure, detail)


# -- normalising calls from any provider's shape -------------------------------------------


def normalize_call(call: Mapping[str, Any]) -> dict[str, Any]:
    """`{"name", "arguments"}` from Ollama/Anthropic shapes or OpenAI's
    `{"function": {"name", "arguments": "<json>"}}`; arguments that are not a JSON object
    become None (scored as format drift)."""
    fn = call.get("function")
    source: Mapping[str, Any] = fn if isinstance(fn, Mapping) else call
    name = source.get("name")
    args: Any = source.get("arguments", source.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError:
            args = None
    if args is not None and not isinstance(args, dict):
        args = None
    return {"name": name if isinstance(name, str) else "", "arguments": args}


# -- value and type checks -----------------------------------------------------------------


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "dict"
    return "null" if value is None else type(value).__name__


def _type_ok(value: Any, accepted: Sequence[Any]) -> bool:
    """An int where a float is expected is fine (BFCL's rule: `3` is a valid float)."""
    want = {_kind(a) for a in accepted}
    got = _kind(value)
    return got in want or (got == "int" and "float" in want)


def normalize_text(value: str) -> str:
    """Case-, punctuation- and spacing-insensitive form: "San Francisco, CA" == "san francisco ca"."""
    return " ".join(value.lower().translate(_PUNCT).split())


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return normalize_text(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _norm(v) for k, v in value.items()}
    return value


def _value_ok(value: Any, accepted: Sequence[Any]) -> bool:
    got = _norm(value)
    return any(got == _norm(a) for a in accepted)


def check_call(call: Mapping[str, Any], expected: ExpectedCall) -> ToolVerdict:
    """One normalised call against one expectation; the first rule broken is the verdict."""
    if call.get("name") != expected.name:
        return _fail(WRONG_FUNCTION, f"called {call.get('name')!r}, expected {expected.name!r}")
    args = call.get("arguments")
    if not isinstance(args, dict):
        return _fail(FORMAT_DRIFT, f"{expected.name}: arguments are not a JSON object")
    missing = [a for a in expected.required if a not in args]
    if missing:
        return _fail(MISSING_ARGUMENT, f"{expected.name}: missing {', '.join(missing)}")
    unexpected = sorted(a for a in args if a not in expected.accepted)
    if unexpected:
        return _fail(UNEXPECTED_ARGUMENT, f"{expected.name}: unexpected {', '.join(unexpected)}")
    for arg, value in args.items():
        accepted = expected.accepted[arg]
        if not accepted:
            continue
        if not _type_ok(value, accepted):
            return _fail(WRONG_TYPE, f"{expected.name}.{arg}: got {_kind(value)} {value!r}, "
                                     f"expected {'/'.join(sorted({_kind(a) for a in accepted}))}")
        if not _value_ok(value, accepted):
            return _fail(WRONG_VALUE, f"{expected.name}.{arg}: {value!r} not among {list(accepted)!r}")
    return _PASS


def _match_all(calls: Sequence[Mapping[str, Any]], expected: Sequence[ExpectedCall]) -> ToolVerdict:
    """Order-insensitive: passes if some pairing passes; otherwise the least-severe pairing's
    worst failure (so a swapped-but-correct parallel call is not a `wrong_function`)."""
    def verdicts(order: Sequence[Mapping[str, Any]]) -> list[ToolVerdict]:
        return [check_call(c, e) for c, e in zip(order, expected, strict=True)]

    candidates: Iterator[list[ToolVerdict]]
    if len(calls) <= _MAX_PERMUTED:
        candidates = (verdicts(p) for p in itertools.permutations(calls))
    else:
        by_name = sorted(calls, key=lambda c: [e.name for e in expected].index(c["name"])
                         if c["name"] in [e.name for e in expected] else len(expected))
        candidates = iter([verdicts(by_name)])
    best: list[ToolVerdict] | None = None
    for vs in candidates:
        if all(v.passed for v in vs):
            return _PASS
        if best is None or sum(_SEVERITY.get(v.failure, 6) for v in vs) < sum(
                _SEVERITY.get(v.failure, 6) for v in best):
            best = vs
    assert best is not None
    return max((v for v in best if not v.passed), key=lambda v: _SEVERITY.get(v.failure, 6))


def mentions_shell_command(text: str) -> bool:
    """A shell snippet in place of a tool call is a hallucinated command, not a refusal."""
    return bool(_SHELL_FENCE_RE.search(text) or _SHELL_LINE_RE.search(text))


def score_calls(calls: Sequence[Mapping[str, Any]], expected: Sequence[ExpectedCall] | None,
                tool_names: Sequence[str], *, text: str = "") -> ToolVerdict:
    """Judge the calls a model made (native function calling, or parsed from prompt mode).

    `expected` None or empty means an irrelevance item: the right answer is no call.
    `text` is whatever prose came with the calls; used only to tell refusals from invented
    shell commands when no call was made.
    """
    normed = [normalize_call(c) for c in calls]
    offered = set(tool_names)
    for call in normed:
        if call["name"] not in offered:
            return _fail(HALLUCINATED_TOOL, f"called {call['name']!r}, not an offered tool")
    if not expected:
        if normed:
            return _fail(SPURIOUS_CALL, f"called {', '.join(c['name'] for c in normed)} but no tool fits")
        if mentions_shell_command(text):
            return _fail(HALLUCINATED_TOOL, "answered with a shell command")
        return _PASS
    if not normed:
        if mentions_shell_command(text):
            return _fail(HALLUCINATED_TOOL, "answered with a shell command instead of a tool call")
        return _fail(REFUSAL, "no tool call" + (f": {text.strip()[:80]!r}" if text.strip() else ""))
    for call in normed:
        if call["arguments"] is None:
            return _fail(FORMAT_DRIFT, f"{call['name']}: arguments are not a JSON object")
    if len(normed) != len(expected):
        names = {e.name for e in expected}
        if not any(c["name"] in names for c in normed):
            return _fail(WRONG_FUNCTION, f"called {', '.join(c['name'] for c in normed)}, "
                                         f"expected {', '.join(sorted(names))}")
        return _fail(WRONG_COUNT, f"{len(normed)} calls, expected {len(expected)}")
    return _match_all(normed, expected)


# -- prompt mode: calls written as text ----------------------------------------------------


def strip_reasoning(text: str) -> str:
    """`<think>`/`<thinking>` blocks are allowed before the call (step-by-step prompts ask for
    them; reasoning models emit them unasked), so they never count as prose."""
    return _THINK_RE.sub("", text).strip()


def _as_calls(value: Any) -> list[dict[str, Any]] | None:
    items = value if isinstance(value, list) else [value]
    out: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            return None
        args = item.get("arguments", {})
        if not isinstance(args, dict):
            return None
        out.append({"name": item["name"], "arguments": args})
    return out


def _first_json_calls(text: str) -> list[dict[str, Any]] | None:
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[\[{]", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        calls = _as_calls(value)
        if calls:
            return calls
    return None


def parse_prompt_mode_calls(text: str, style: PromptStyle, *, strict: bool = True) -> list[dict[str, Any]] | None:
    """Calls written as text. Strict: the whole output (after reasoning blocks) is the demanded
    format (`[]` is a valid "no call"). Lenient: the first parseable call anywhere (caller
    flags it as extra prose). None when nothing parses."""
    body = strip_reasoning(text)
    if style == "xml":
        blocks = _XML_CALL_RE.findall(body)
        if not blocks:
            return None
        if strict and _XML_CALL_RE.sub("", body).strip():
            return None
        calls: list[dict[str, Any]] = []
        for block in blocks:
            try:
                parsed = _as_calls(json.loads(block))
            except json.JSONDecodeError:
                parsed = None
            if parsed is None:
                if strict:
                    return None
                continue
            calls.extend(parsed)
        return calls or None
    if strict:
        try:
            value = json.loads(body)
        except json.JSONDecodeError:
            return None
        return [] if value == [] else _as_calls(value)
    return _first_json_calls(body)


def score_prompt_mode(text: str, expected: Sequence[ExpectedCall] | None, tool_names: Sequence[str],
                      style: PromptStyle) -> tuple[ToolVerdict, list[dict[str, Any]]]:
    """Parse then score; returns the verdict and the calls it judged (for the record)."""
    strict = parse_prompt_mode_calls(text, style, strict=True)
    if strict is not None:
        return score_calls(strict, expected, tool_names), strict
    lenient = parse_prompt_mode_calls(text, style, strict=False)
    if lenient is not None:
        verdict = score_calls(lenient, expected, tool_names)
        if verdict.passed:
            return _fail(EXTRA_PROSE, "correct call wrapped in other text"), lenient
        return verdict, lenient
    body = strip_reasoning(text)
    if _CALL_LIKE_RE.search(body) or any(re.search(rf"\b{re.escape(n)}\s*\(", body) for n in tool_names):
        return _fail(FORMAT_DRIFT, f"call-like text not in the {style} format: {body[:80]!r}"), []
    return score_calls([], expected, tool_names, text=body), []
