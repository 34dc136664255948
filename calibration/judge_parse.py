"""Turn a judge model's reply into a verdict, or into a stated parse failure.

Why so careful: promptfoo's users report judges whose JSON cannot be parsed being scored
as passes (or silently dropped). Here a reply is either a validated verdict or a
`ParseFailure` with a reason; the phases record a failure as `judge_parsed: False` and the
metrics count it as an error, never as a pass.

What is accepted, in order:
1. the whole reply is one JSON object (strict JSON: no NaN, no duplicate keys);
2. otherwise every JSON object embedded in the reply (in a code fence or amid prose) is
   found; those with a `score` or `verdict` key are verdict candidates, and the LAST one is
   the answer (a reasoned reply reasons first and gives its JSON last; trailing prose after
   it is tolerated). If an earlier candidate is itself a valid verdict that disagrees with
   the last, the reply is ambiguous and fails: we never pick between two verdicts.
A verdict needs an integer-valued score in 1..10 (8, 8.0 or "8"; never true/8.5/"eight"),
a verdict "good" or "bad" (case and surrounding spaces ignored), and the two must agree:
"good" exactly when score >= GOOD_MIN_SCORE, as the prompt states.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from calibration.judge_dataset import Label
from calibration.judge_prompt import GOOD_MIN_SCORE, SCORE_MAX, SCORE_MIN, normalise_score

_INT_TEXT = re.compile(r"^\s*[0-9]+(?:\.0+)?\s*$")


@dataclass(frozen=True, slots=True)
class JudgeVerdict:
    score: int  # 1..10
    verdict: Label
    reasoning: str | None = None
    extracted: bool = False  # True: found inside prose or a fence, not a bare JSON reply


@dataclass(frozen=True, slots=True)
class ParseFailure:
    reason: str


class _Rejected(ValueError):
    """Valid-looking JSON we refuse (duplicate keys, NaN/Infinity): a reason worth reporting."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`{"score": 2, "score": 9}` would silently keep 9; two answers in one object is a failure."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Rejected(f"duplicate key {key!r} in the JSON object")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise _Rejected(f"{name} is not valid JSON")


_decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


def _score(value: object) -> int | str:
    """An int 1..10, or the reason it is not one."""
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INT_TEXT.match(value):
        number = int(float(value))
    if number is None:
        return f"score must be an integer {SCORE_MIN}-{SCORE_MAX}, got {value!r}"
    if not SCORE_MIN <= number <= SCORE_MAX:
        return f"score {number} is outside {SCORE_MIN}-{SCORE_MAX}"
    return number


def validate_verdict(obj: dict[str, Any], *, extracted: bool = False) -> JudgeVerdict | ParseFailure:
    """Range, enum and consistency checks on one decoded object."""
    missing = [key for key in ("score", "verdict") if key not in obj]
    if missing:
        return ParseFailure(f"JSON object lacks {' and '.join(missing)}")
    score = _score(obj["score"])
    if isinstance(score, str):
        return ParseFailure(score)
    raw_verdict = obj["verdict"]
    verdict = raw_verdict.strip().lower() if isinstance(raw_verdict, str) else None
    if verdict not in ("good", "bad"):
        return ParseFailure(f"verdict must be \"good\" or \"bad\", got {raw_verdict!r}")
    if (score >= GOOD_MIN_SCORE) != (verdict == "good"):
        return ParseFailure(f"verdict {verdict!r} contradicts score {score} "
                            f"(good means score >= {GOOD_MIN_SCORE})")
    reasoning = obj.get("reasoning")
    return JudgeVerdict(score=score, verdict="good" if verdict == "good" else "bad",
                        reasoning=reasoning if isinstance(reasoning, str) else None, extracted=extracted)


def _embedded_objects(text: str) -> tuple[list[dict[str, Any]], str | None]:
    """Every top-level JSON object in `text`, left to right (objects nested in a found one
    are part of it, not separate finds), and the first duplicate-key complaint, if any."""
    found: list[dict[str, Any]] = []
    complaint: str | None = None
    index = text.find("{")
    while index >= 0:
        try:
            value, end = _decoder.raw_decode(text, index)
        except _Rejected as exc:
            complaint = complaint or str(exc)
            index = text.find("{", index + 1)
            continue
        except ValueError:  # JSONDecodeError and rejected constants
            index = text.find("{", index + 1)
            continue
        if isinstance(value, dict):
            found.append(value)
        index = text.find("{", end)
    return found, complaint


def parse_judge_reply(text: str) -> JudgeVerdict | ParseFailure:
    stripped = text.strip()
    if not stripped:
        return ParseFailure("empty reply")
    try:
        whole = _decoder.decode(stripped)
    except _Rejected as exc:
        return ParseFailure(str(exc))
    except ValueError:
        whole = None
    else:
        if not isinstance(whole, dict):
            return ParseFailure(f"reply is JSON {type(whole).__name__}, expected an object with score and verdict")
        return validate_verdict(whole)
    objects, complaint = _embedded_objects(stripped)
    candidates = [o for o in objects if "score" in o or "verdict" in o]
    if not candidates:
        if complaint:
            return ParseFailure(complaint)
        return ParseFailure("no JSON object with score and verdict in the reply" if objects
                            else "no JSON object in the reply")
    last = validate_verdict(candidates[-1], extracted=True)
    if isinstance(last, ParseFailure):
        return last
    for earlier in candidates[:-1]:
        other = validate_verdict(earlier)
        if isinstance(other, JudgeVerdict) and (other.verdict, other.score) != (last.verdict, last.score):
            return ParseFailure(f"conflicting verdicts in one reply: {other.verdict}/{other.score} "
                                f"then {last.verdict}/{last.score}")
    return last


def verdict_fields(text: str) -> dict[str, object]:
    """The `record.extra` fields every judge phase stores. `judge_score` is on 0-100 (what
    calibration ranks on); `judge_raw_score` is the judge's own 1-10. A failure leaves the
    verdict and scores None: there is nothing to count as a pass."""
    result = parse_judge_reply(text)
    if isinstance(result, ParseFailure):
        return {"judge_parsed": False, "judge_verdict": None, "judge_score": None, "judge_raw_score": None,
                "parse_error": result.reason}
    return {"judge_parsed": True, "judge_verdict": result.verdict, "judge_score": normalise_score(result.score),
            "judge_raw_score": result.score, "parse_error": None}
