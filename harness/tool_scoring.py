"""Tool-call scoring in the style of the Berkeley Function Calling Leaderboard (AST checks).

Why AST-style checks rather than executing calls: fleetbench never runs a tool a model asks
for (a hallucinated `rm_rf` must stay words), and structural checks (name, arguments, types,
accepted values) are deterministic and explain *why* a call failed. The failure class is the
point: "Tier 3" models fail in different ways (format drift, invented commands, refusing to
call), and a better prompt only helps if we can see which failure it removed.

The verdict is BFCL's: one argument's type and value by `harness.tool_args` (a port of BFCL's
checker), the call's name, required, unexpected and non-optional arguments here in BFCL's
order, the right number of calls, parallel calls matched by BFCL's order-free matching, and
irrelevance items passing when no call decodes. The failure classes are ours (BFCL names
fewer), and our own suites add one rule on irrelevance items (`Irrelevance`).

Pure functions, no I/O: the phase scores records, tests score hand-made cases.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.tool_args import ParamType, argument_failure

PromptStyle = Literal["json", "xml"]
# irrelevance items: "no_call" passes any reply that decodes as no call (BFCL); "no_attempt"
# also fails a shell command, call-like text or a call inside prose (our own suites)
Irrelevance = Literal["no_call", "no_attempt"]

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
    """One call the item wants, in BFCL's terms. `accepted[arg]` lists every acceptable value,
    "" among them meaning the argument may be left out (an empty list accepts nothing: BFCL
    has such gold); an argument not in `accepted` must not be sent. `required` are the schema's required arguments. `params` are the schema's
    parameter types (None when there is no schema: the answers' types stand in)."""

    name: str
    accepted: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    required: Sequence[str] = ()
    params: Mapping[str, ParamType] | None = None


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


# -- one call against one expectation, then a reply's calls against the item's ----------


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


def check_call(call: Mapping[str, Any], expected: ExpectedCall) -> ToolVerdict:
    """One normalised call against one expectation, in BFCL's order: the name, the schema's
    required arguments, then each argument sent (known to the schema and to the answers, its
    type, its value), then the answers' arguments that are not optional."""
    if call.get("name") != expected.name:
        return _fail(WRONG_FUNCTION, f"called {call.get('name')!r}, expected {expected.name!r}")
    args = call.get("arguments")
    if not isinstance(args, dict):
        return _fail(FORMAT_DRIFT, f"{expected.name}: arguments are not a JSON object")
    missing = [a for a in expected.required if a not in args]
    if missing:
        return _fail(MISSING_ARGUMENT, f"{expected.name}: missing {', '.join(missing)}")
    params = expected.params
    for arg, value in args.items():
        if arg not in expected.accepted or (params is not None and arg not in params):
            return _fail(UNEXPECTED_ARGUMENT, f"{expected.name}: unexpected {arg}")
        answers = expected.accepted[arg]
        param = params.get(arg) if params is not None else None
        broken = argument_failure(value, answers, param)
        if broken == "type":
            want = param.type if param is not None else "/".join(sorted({_kind(a) for a in answers if a != ""}))
            return _fail(WRONG_TYPE, f"{expected.name}.{arg}: got {_kind(value)} {value!r}, expected {want}")
        if broken == "value":
            return _fail(WRONG_VALUE, f"{expected.name}.{arg}: {value!r} not among {list(answers)!r}")
    left_out = [a for a, answers in expected.accepted.items() if a not in args and "" not in answers]
    if left_out:
        return _fail(MISSING_ARGUMENT, f"{expected.name}: missing {', '.join(left_out)} (not optional)")
    return _PASS


def _greedy_match(calls: Sequence[Mapping[str, Any]], expected: Sequence[ExpectedCall]) -> bool:
    """BFCL's order-free matching: each expectation in turn takes the first call not yet taken
    that passes it. Why greedy and not the best assignment: it is what BFCL scores. It differs
    only when one call could satisfy two expectations and another only the first of them,
    and then the calls' order decides (tests/harness/test_tool_scoring.py shows the case)."""
    taken: set[int] = set()
    for want in expected:
        found = next((i for i, c in enumerate(calls) if i not in taken and check_call(c, want).passed), None)
        if found is None:
            return False
        taken.add(found)
    return True


def _explain(calls: Sequence[Mapping[str, Any]], expected: Sequence[ExpectedCall]) -> ToolVerdict:
    """Why a set of calls failed: the least-severe pairing's worst failure, so a swapped but
    wrong parallel call reads `wrong_value`, not `wrong_function`."""
    def verdicts(order: Sequence[Mapping[str, Any]]) -> list[ToolVerdict]:
        return [check_call(c, e) for c, e in zip(order, expected, strict=True)]

    candidates: Iterator[list[ToolVerdict]]
    if len(calls) <= _MAX_PERMUTED:
        candidates = (verdicts(p) for p in itertools.permutations(calls))
    else:
        names = [e.name for e in expected]
        by_name = sorted(calls, key=lambda c: names.index(c["name"]) if c["name"] in names else len(names))
        candidates = iter([verdicts(by_name)])
    best = min(candidates, key=lambda vs: sum(_SEVERITY.get(v.failure, 6) for v in vs))
    failed = [v for v in best if not v.passed]
    if not failed:
        return _fail(WRONG_VALUE, "every call fits some expected call, but BFCL's in-order matching "
                                  "pairs an earlier call with the wrong one")
    return max(failed, key=lambda v: _SEVERITY.get(v.failure, 6))


def _match_all(calls: Sequence[Mapping[str, Any]], expected: Sequence[ExpectedCall]) -> ToolVerdict:
    return _PASS if _greedy_match(calls, expected) else _explain(calls, expected)


def mentions_shell_command(text: str) -> bool:
    """A shell snippet in place of a tool call is a hallucinated command, not a refusal."""
    return bool(_SHELL_FENCE_RE.search(text) or _SHELL_LINE_RE.search(text))


def score_calls(calls: Sequence[Mapping[str, Any]], expected: Sequence[ExpectedCall] | None,
                tool_names: Sequence[str], *, text: str = "", irrelevance: Irrelevance = "no_attempt") -> ToolVerdict:
    """Judge the calls a model made (native function calling, or parsed from prompt mode).

    `expected` None or empty means an irrelevance item: the right answer is no call. Under
    `irrelevance="no_call"` (BFCL's rule) it passes when no call decodes: a call whose
    arguments are not JSON makes the whole reply undecodable, as in BFCL. Under "no_attempt"
    (our own suites) a shell command in place of a call fails too.
    `text` is whatever prose came with the calls; used only to tell refusals from invented
    shell commands when no call was made.
    """
    normed = [normalize_call(c) for c in calls]
    if not expected and irrelevance == "no_call":
        decoded = all(c["arguments"] is not None for c in normed)
        if not normed or not decoded:
            return _PASS
        return _fail(SPURIOUS_CALL, f"called {', '.join(c['name'] for c in normed)} but no tool fits")
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
                      style: PromptStyle, *, irrelevance: Irrelevance = "no_attempt",
                      ) -> tuple[ToolVerdict, list[dict[str, Any]]]:
    """Parse then score; returns the verdict and the calls it judged (for the record). Only
    a reply wholly in the demanded format decodes as calls; a call found inside other text
    fails as `extra_prose` (BFCL's decoder refuses it too), and under BFCL's irrelevance
    rule ("no_call") such a reply made no call."""
    strict = parse_prompt_mode_calls(text, style, strict=True)
    if strict is not None:
        return score_calls(strict, expected, tool_names, irrelevance=irrelevance), strict
    if not expected and irrelevance == "no_call":
        return _PASS, []
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
