"""A brain that answers the Berkeley Function Calling Leaderboard's questions, rightly or in
one scripted wrong way, for measuring fleetbench's BFCL scoring against BFCL's own checker
(`benchmarks/bfcl_agreement.py`).

Why in the simulator: the agreement must be measured on outputs fleetbench really recorded
(through a wire, parsed, scored, archived), with every failure class the checker must tell
apart, and no real model fails on demand. The brain finds the question (the last user
message) in the installed bfcl-eval data, builds a call from each gold call's first
possible answer, applies its `bfcl_answer` and sends the first call as a native tool call
where the request offered tools natively, else writes the calls as prompt-mode text: a JSON
list, or `<tool_call>` blocks when the system prompt asks for them. Standalone (reads
the JSON files itself, like the rest of the simulator it imports nothing of fleetbench).
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path
from typing import Any, Literal

BfclAnswer = Literal["correct", "wrong_type", "missing_parameter", "extra_parameter", "reversed", "no_call",
                     "wrong_value", "int_as_float", "restyled", "extra_call"]
NO_CALL_TEXT = "None of the offered functions can do that."
Call = tuple[str, dict[str, Any]]


def _data() -> Path | None:
    spec = importlib.util.find_spec("bfcl_eval")
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "data").is_dir():
            return Path(location) / "data"
    return None


def _first(answers: Any) -> tuple[bool, Any]:
    """An argument's first possible answer that is not "" (optional), built out for dicts."""
    if not isinstance(answers, list) or "" in answers:
        return False, None
    for answer in answers:
        if isinstance(answer, dict):
            return True, {k: v for k, a in answer.items() for ok, v in [_first(a)] if ok}
        return True, answer
    return False, None


@functools.cache
def _index() -> dict[str, tuple[list[Call], list[str]]]:
    """question text -> (gold calls, offered function names); irrelevance questions have none."""
    data = _data()
    out: dict[str, tuple[list[Call], list[str]]] = {}
    if data is None:
        return out
    for questions in sorted(data.glob("BFCL_v4_*.json")):
        answers_path = data / "possible_answer" / questions.name
        answers = {}
        if answers_path.is_file():
            for line in answers_path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    answers[row["id"]] = row.get("ground_truth") or []
        for line in questions.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:  # not a question file (BFCL keeps some configs beside them)
                break
            if not isinstance(row, dict):
                break
            turns = row.get("question") or []
            if not turns or not isinstance(turns[0], list) or not turns[0]:
                continue
            text = str(turns[0][-1].get("content", ""))
            names = [str(f.get("name", "")) for f in row.get("function") or [] if isinstance(f, dict)]
            truth = answers.get(row["id"], [])
            if not all(isinstance(c, dict) for c in truth):
                break  # multi-turn: its answers are call strings per turn, not this brain's
            gold = [(name, {k: v for k, a in args.items() for ok, v in [_first(a)] if ok})
                    for call in truth for name, args in call.items()]
            out.setdefault(text, (gold, names))
    return out


def _wrong_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return [value]
    return json.dumps(value)


def _wrong_value(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 7
    if isinstance(value, str):
        return value + " nowhere"
    return [] if value else ["x"]


def _restyled(value: Any) -> Any:
    """What BFCL's string standardisation forgives (case, spaces, `,./-_*^`) and what it does not ("!")."""
    if isinstance(value, str):
        return value.upper().replace(" ", "_") + ("!" if len(value) % 3 == 0 else "")
    if isinstance(value, list):
        return [_restyled(v) for v in value]
    return value


def answer(last_user: str, how: BfclAnswer) -> list[Call]:
    """The calls this brain makes for a question (unknown question: no call)."""
    gold, names = _index().get(last_user, ([], []))
    calls = [(name, dict(args)) for name, args in gold]
    if not calls:  # irrelevance: the right answer is no call; every wrong one calls the first function
        return [] if how in ("correct", "no_call") or not names else [(names[0], {})]
    name, args = calls[0]
    key = next(iter(args), None)
    if how == "no_call":
        return []
    if how == "reversed":
        return calls[::-1]
    if how == "extra_call":
        return [*calls, calls[0]]
    if how == "extra_parameter":
        args["verbose"] = True
    elif key is not None and how == "missing_parameter":
        del args[key]
    elif key is not None and how == "wrong_type":
        args[key] = _wrong_type(args[key])
    elif key is not None and how == "wrong_value":
        args[key] = _wrong_value(args[key])
    elif how == "int_as_float":
        calls[0] = (name, {k: float(v) if type(v) is int else v for k, v in args.items()})
        return calls
    elif how == "restyled":
        calls[0] = (name, {k: _restyled(v) for k, v in args.items()})
        return calls
    calls[0] = (name, args)
    return calls


def _offered_names(tools: object) -> set[str]:
    """Names of natively offered tools, in the OpenAI, Anthropic and Ollama shapes."""
    out: set[str] = set()
    for tool in tools if isinstance(tools, list) else []:
        if isinstance(tool, dict):
            inner = tool.get("function")
            name = (inner if isinstance(inner, dict) else tool).get("name")
            if isinstance(name, str):
                out.add(name)
    return out


def bfcl_native_call(last_user: str, how: BfclAnswer, tools: object) -> Call | None:
    """The first call, for a request that offered tools natively (a simulated tool call is one
    call; parallel items so get too few, which both checkers must fail). Dots in a name become
    underscores where only that name was offered, as native function calling sends them.
    None: no call (or no tool offered)."""
    offered = _offered_names(tools)
    calls = answer(last_user, how) if offered else []
    if not calls:
        return None
    name, args = calls[0]
    return (name if name in offered else name.replace(".", "_")), args


def bfcl_text(last_user: str, how: BfclAnswer, context: str) -> str:
    """The reply as prompt-mode text, in the format the system prompt asks for."""
    calls = [{"name": name, "arguments": args} for name, args in answer(last_user, how)]
    if not calls:
        return NO_CALL_TEXT
    if "<tool_call>" in context:
        return "".join(f"<tool_call>{json.dumps(c)}</tool_call>" for c in calls)
    return json.dumps(calls)
