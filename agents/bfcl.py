"""The Berkeley Function Calling Leaderboard's categories as suites: `bfcl:simple_python`.

Why read the installed `bfcl-eval` package: its wheel is BFCL's own data (questions, function
docs, possible answers), versioned on PyPI, so a run names exactly which BFCL it measured. Its
declared dependencies are heavy and pinned (numpy, sentence-transformers, provider SDKs), none
of which reading JSON needs: `scripts/setup.sh` installs it with `--no-deps`, and this module
finds its files without importing it.

What an item becomes:
- BFCL's function docs -> OpenAI function tools, converted as BFCL converts them for native
  function calling (`bfcl_eval/model_handler/utils.py:convert_to_tool`): `dict` -> `object`,
  `float` -> `number` (with BFCL's "This is a float type value." note), `tuple` -> `array`,
  `any` -> `string`, the same for array items and nested properties; the description gets
  BFCL's "Note that the provided function is in Python 3 syntax." Names keep their dots
  here: the tool-use phase replaces them with underscores in native mode only, as BFCL does
  for the APIs whose names allow no dots, and keeps them in prompt mode.
- The question's messages -> the system prompt (its system messages), the history, and the
  last user message as the prompt.
- The possible answers -> the expected calls as they are ("" meaning optional), with the
  schema's required arguments; irrelevance items expect no call, scored by BFCL's rule
  (passes when no call decodes, `Suite.irrelevance = "no_call"`).

Categories left out: `live_relevance` (no possible answers: BFCL checks only that some call
decodes, 16 items), `simple_java` and `simple_javascript` (BFCL's checker parses Java and
JavaScript literals out of string arguments with its own converters; fleetbench compares JSON
values), the `multi_turn_*` categories (stateful: calls are executed against BFCL's simulated
APIs over several turns), `memory`, `web_search` (agentic, with their own backends) and
`format_sensitivity` (BFCL's own prompt formats and Python-syntax decoder).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agents.suite import ITEM_ID_PATTERN, ExpectedCallSpec, ItemDefaults, LoadedSuite, Suite, SuiteItem, Turn
from harness.errors import InputError

PREFIX = "bfcl:"
VERSION = "2026.3.23"  # scripts/setup.sh installs this one
INSTALL_HINT = f"install it with `pip install --no-deps bfcl-eval=={VERSION}` (scripts/setup.sh does)"
CATEGORIES: tuple[str, ...] = (
    "simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance",
    "live_simple", "live_multiple", "live_parallel", "live_parallel_multiple", "live_irrelevance",
)
IRRELEVANCE = frozenset({"irrelevance", "live_irrelevance"})
PYTHON_HINT = " Note that the provided function is in Python 3 syntax."
FLOAT_NOTE = " This is a float type value."
# BFCL's GORILLA_TO_OPENAPI, for the Python categories' types
OPENAPI_TYPES = {"integer": "integer", "number": "number", "float": "number", "string": "string",
                 "boolean": "boolean", "bool": "boolean", "array": "array", "list": "array",
                 "dict": "object", "object": "object", "tuple": "array", "any": "string"}
ITEM_ID_RE = re.compile(ITEM_ID_PATTERN)
MAX_TOKENS = 512  # room for several calls in prompt mode (parallel categories)


def data_dir() -> Path | None:
    """`bfcl_eval/data` of the installed package, found without importing it (None: absent)."""
    spec = importlib.util.find_spec("bfcl_eval")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        data = Path(location) / "data"
        if data.is_dir():
            return data
    return None


def category_files(category: str) -> tuple[Path, Path | None]:
    """The category's question file and its possible-answer file (None for irrelevance)."""
    where = PREFIX + category
    if category not in CATEGORIES:
        raise InputError(where, f"unknown BFCL category (known: {', '.join(CATEGORIES)})")
    data = data_dir()
    if data is None:
        raise InputError(where, f"the bfcl-eval package is not installed; {INSTALL_HINT}")
    questions = data / f"BFCL_v4_{category}.json"
    answers = None if category in IRRELEVANCE else data / "possible_answer" / f"BFCL_v4_{category}.json"
    for path in (questions, answers):
        if path is not None and not path.is_file():
            raise InputError(where, f"{path} is missing from the installed bfcl-eval; {INSTALL_HINT}")
    return questions, answers


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """BFCL's files: one JSON object per line; a bad line is an InputError naming it."""
    out: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}", f"not JSON: {exc.msg}") from None
        if not isinstance(value, dict) or not isinstance(value.get("id"), str):
            raise InputError(f"{path}:{number}", "expected an object with a string `id`")
        out.append(value)
    return out


def _cast_properties(properties: Mapping[str, Any]) -> dict[str, Any]:
    """BFCL's `_cast_to_openai_type`, without mutating its input."""
    out: dict[str, Any] = {}
    for key, raw in properties.items():
        schema = dict(raw)
        kind = schema.get("type")
        if kind is None:
            schema["type"] = "string"
        else:
            if kind == "float":
                schema["format"] = "float"
                schema["description"] = str(schema.get("description", "")) + FLOAT_NOTE
            schema["type"] = OPENAPI_TYPES.get(kind, "string")
        if schema["type"] in ("array", "object"):
            if isinstance(schema.get("properties"), Mapping):
                schema["properties"] = _cast_properties(schema["properties"])
            elif isinstance(schema.get("items"), Mapping):
                items = dict(schema["items"])
                items["type"] = OPENAPI_TYPES.get(str(items.get("type")), "string")
                if items["type"] == "array" and isinstance(items.get("items"), Mapping):
                    inner = dict(items["items"])
                    inner["type"] = OPENAPI_TYPES.get(str(inner.get("type")), "string")
                    items["items"] = inner
                elif items["type"] == "object" and isinstance(items.get("properties"), Mapping):
                    items["properties"] = _cast_properties(items["properties"])
                schema["items"] = items
        out[key] = schema
    return out


def to_tool(function: Mapping[str, Any]) -> dict[str, Any]:
    """One BFCL function doc as an OpenAI function tool (dotted names kept, see the module)."""
    fn = dict(function)  # shallow: `_cast_properties` copies whatever it changes
    fn["description"] = str(fn.get("description", "")) + PYTHON_HINT
    params = dict(fn.get("parameters") or {})
    params["type"] = "object"
    params["properties"] = _cast_properties(params.get("properties") or {})
    fn["parameters"] = params
    return {"type": "function", "function": fn}


def _expected(ground_truth: list[Any], functions: Mapping[str, Mapping[str, Any]], where: str) -> list[ExpectedCallSpec]:
    """BFCL's answers as they are. Built without the YAML schema's check that every required
    argument has answers: one BFCL item (live_multiple_964-207-0) lacks one, and BFCL fails
    every reply to it, which is what scoring the item as it stands reproduces."""
    calls: list[ExpectedCallSpec] = []
    for call in ground_truth:
        if not isinstance(call, dict) or len(call) != 1:
            raise InputError(where, f"a ground-truth call must be one {{name: arguments}}, got {call!r}")
        ((name, answers),) = call.items()
        function = functions.get(name) or {}
        required = list((function.get("parameters") or {}).get("required") or [])
        calls.append(ExpectedCallSpec.model_construct(name=name, accepted=dict(answers), required=required))
    return calls


def _item(question: Mapping[str, Any], ground_truth: list[Any] | None, category: str, where: str) -> SuiteItem:
    turns = question.get("question") or []
    messages = turns[0] if turns and isinstance(turns[0], list) else []
    system = "\n\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "system")
    dialogue = [m for m in messages if m.get("role") in ("user", "assistant")]
    if not dialogue or dialogue[-1].get("role") != "user":
        raise InputError(where, f"{question['id']}: the question does not end with a user message")
    functions = {str(f["name"]): f for f in question.get("function") or []}
    item_id = str(question["id"])
    if not ITEM_ID_RE.fullmatch(item_id) or len(item_id) > 100:
        raise InputError(where, f"item id {item_id!r} does not fit the suite schema ({ITEM_ID_PATTERN})")
    # constructed, not validated: the answers are BFCL's as they stand (see `_expected`)
    return SuiteItem.model_construct(
        id=item_id, prompt=str(dialogue[-1].get("content", "")) or "(empty)",
        system=system or None, category=PREFIX + category, tags=["bfcl"],
        history=[Turn(role=m["role"], content=str(m.get("content", ""))) for m in dialogue[:-1]],
        tools=[to_tool(f) for f in functions.values()], constraints=[], max_tokens=None, temperature=None,
        stream=None, expected_calls=None if ground_truth is None else _expected(ground_truth, functions, where))


def _first(answers: Any, required: bool = False) -> tuple[bool, Any]:
    """(found, value): nothing where the argument may be left out ("" among its answers and
    not required), else the first answer that is not "", built out where it is itself a dict
    of answers (a dict argument) or a list of such dicts."""
    if not isinstance(answers, list) or ("" in answers and not required):
        return False, None
    for answer in answers:
        if answer != "":
            return True, _built(answer)
    return False, None


def _built(answer: Any) -> Any:
    if isinstance(answer, dict):
        out = {}
        for key, alternatives in answer.items():
            found, value = _first(alternatives)
            if found:
                out[key] = value
        return out
    if isinstance(answer, list) and answer and all(isinstance(a, dict) for a in answer):
        return [_built(a) for a in answer]
    return answer


def gold_arguments(accepted: Mapping[str, Any], required: Sequence[str] = ()) -> dict[str, Any]:
    """The arguments of a reply built from BFCL's answers: each argument's first answer, the
    ones that may be left out ("" among the answers, not required by the schema) left out.
    Not every item has a passing gold: a few accept no value for an argument they require
    (`live_simple_106-63-0`, `live_simple_112-68-0`)."""
    out: dict[str, Any] = {}
    for arg, answers in accepted.items():
        found, value = _first(answers, arg in required)
        if found:
            out[arg] = value
    return out


def load_bfcl_suite(name: str) -> LoadedSuite:
    """`bfcl:<category>` as a suite; its hash covers the question and answer files."""
    category = name.removeprefix(PREFIX)
    questions_path, answers_path = category_files(category)
    questions = read_jsonl(questions_path)
    answers = {a["id"]: a for a in read_jsonl(answers_path)} if answers_path is not None else None
    items: list[SuiteItem] = []
    for question in questions:
        truth = None
        if answers is not None:
            found = answers.get(question["id"])
            if found is None:
                raise InputError(str(answers_path), f"no possible answer for {question['id']}")
            truth = found.get("ground_truth")
            if not isinstance(truth, list):
                raise InputError(str(answers_path), f"{question['id']}: `ground_truth` must be a list")
        items.append(_item(question, truth, category, str(questions_path)))
    digest = hashlib.sha256(questions_path.read_bytes())
    if answers_path is not None:
        digest.update(answers_path.read_bytes())
    suite = Suite(name=name, description=f"BFCL v4 {category} (bfcl-eval, {len(items)} items)",
                  defaults=ItemDefaults(max_tokens=MAX_TOKENS, temperature=0.0, stream=False),
                  items=items, irrelevance="no_call", phases=["tool-use"])
    return LoadedSuite(suite=suite, path=questions_path.resolve(), sha256=digest.hexdigest())


# The default plan's BFCL sample: one category per kind of answer (one call, a choice among
# several functions, several calls, no call)
SAMPLE_CATEGORIES: tuple[str, ...] = ("simple_python", "multiple", "parallel", "irrelevance")
# the sample's reply budget, our own tool-use suite's: 95 % of these categories' gold calls fit
# in well under half of it as JSON, and the embedded models spend a larger one on prose
# (measured in the main job at 512: 19 s per sampled call against 5.8 s per call of our suite)
SAMPLE_MAX_TOKENS = 256


def _draw_order(item_id: str) -> str:
    return hashlib.sha256(item_id.encode()).hexdigest()


def sample_suites(per_category: int, categories: Sequence[str] = SAMPLE_CATEGORIES) -> list[LoadedSuite]:
    """`per_category` items of each category, the ones whose id hashes first: the same items in
    every run (so runs compare on shared items) without favouring BFCL's first, easiest ones,
    and a new BFCL version moves only the items it changes; replies get `SAMPLE_MAX_TOKENS`. Empty when bfcl-eval is absent:
    the sample rides beside our own suite and is never a reason for a run to fail."""
    if per_category <= 0 or data_dir() is None:
        return []
    out: list[LoadedSuite] = []
    for category in categories:
        loaded = load_bfcl_suite(PREFIX + category)
        keep = {i.id for i in sorted(loaded.suite.items, key=lambda i: _draw_order(i.id))[:per_category]}
        defaults = loaded.suite.defaults.model_copy(update={"max_tokens": SAMPLE_MAX_TOKENS})
        suite = loaded.suite.model_copy(update={"items": [i for i in loaded.suite.items if i.id in keep],
                                                "defaults": defaults})
        out.append(LoadedSuite(suite=suite, path=loaded.path, sha256=loaded.sha256))
    return out
