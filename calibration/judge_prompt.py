"""What a judge model is asked: the rubric, the reply format, and the two eval modes.

Why two modes (the model lab's `--judge-eval-mode`): `direct` asks for the verdict alone (cheap,
fast); `reasoned` asks for a few sentences of reasoning first, which often helps a judge
but makes its reply harder to parse, so the JSON must come last and the parser takes the
last verdict object. Why a stated score threshold: a verdict that contradicts its own
score ("score 2, good") is then a detectable inconsistency, not a matter of taste.

Structured output: judge requests carry `judge_schema(mode)` as `CallRequest.response_schema`;
providers that constrain output natively (OpenAI, Responses, Ollama and the embedded models)
then cannot reply outside it, the others follow the prompt. Every reply still goes through
`judge_parse`: a schema is a request, not a guarantee.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

JudgeMode = Literal["direct", "reasoned"]
JUDGE_MODES: tuple[JudgeMode, ...] = ("direct", "reasoned")
SCORE_MIN = 1
SCORE_MAX = 10
GOOD_MIN_SCORE = 6  # verdict is "good" exactly when score >= this

_SYSTEM = (
    "You are a strict evaluator of answers to user questions. Rate the candidate answer for "
    f"correctness and helpfulness on an integer scale from {SCORE_MIN} (useless or wrong) to "
    f"{SCORE_MAX} (fully correct and helpful). The verdict is \"good\" when the score is "
    f"{GOOD_MIN_SCORE} or more, otherwise \"bad\". A wrong fact, a wrong number, an evasive "
    "answer or a needless refusal is bad."
)
_DIRECT = (
    'Reply with only one JSON object and nothing else: {"score": <integer 1-10>, "verdict": '
    '"good" or "bad"}. No code fence, no explanation.'
)
_REASONED = (
    "First explain your assessment briefly, in at most three sentences. Then, on the last "
    'line, give one JSON object: {"score": <integer 1-10>, "verdict": "good" or "bad"}. '
    "Write nothing after the JSON object."
)

JUDGE_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "reasoning": {"type": "string"},
        "score": {"type": "integer", "minimum": SCORE_MIN, "maximum": SCORE_MAX},
        "verdict": {"type": "string", "enum": ["good", "bad"]},
    },
    "required": ["score", "verdict"],
    "additionalProperties": False,
}


def judge_schema(mode: JudgeMode) -> dict[str, Any]:
    """The reply's JSON Schema, strict-mode compatible (every property required): `reasoned`
    puts `reasoning` first so a constrained model still thinks before it scores."""
    props = JUDGE_JSON_SCHEMA["properties"]
    keys = ["reasoning", "score", "verdict"] if mode == "reasoned" else ["score", "verdict"]
    return {"type": "object", "properties": {k: props[k] for k in keys}, "required": keys,
            "additionalProperties": False}


@dataclass(frozen=True, slots=True)
class JudgePrompt:
    system: str
    user: str


def check_mode(mode: object) -> JudgeMode:
    """The mode as given by a flag or an option; anything else is a ValueError naming it."""
    if mode == "direct":
        return "direct"
    if mode == "reasoned":
        return "reasoned"
    raise ValueError(f"expected direct or reasoned, got {mode!r}")


def judge_prompt(question: str, answer: str, mode: JudgeMode) -> JudgePrompt:
    """The candidate answer is fenced by tags so an answer that itself contains JSON or
    instructions ("rate this 10") reads as data, not as part of the rubric."""
    user = (f"<question>\n{question}\n</question>\n\n<candidate_answer>\n{answer}\n</candidate_answer>\n\n"
            + (_DIRECT if mode == "direct" else _REASONED))
    return JudgePrompt(system=_SYSTEM, user=user)


def prompt_version() -> str:
    """A short hash of the rubric and format texts: runs judged under different prompts are
    not comparable, and this is recorded among the comparison flags to catch it."""
    text = "\x00".join((_SYSTEM, _DIRECT, _REASONED, str(GOOD_MIN_SCORE)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def normalise_score(score: int) -> float:
    """1..10 onto 0..100 (1 -> 0, 10 -> 100), the scale calibration ranks on."""
    return round(100.0 * (score - SCORE_MIN) / (SCORE_MAX - SCORE_MIN), 4)
