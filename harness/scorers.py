"""Check a model's output against its item's constraints; no LLM judge, no partial credit.

Why deterministic checks: adherence numbers must be comparable across runs and models, and
cheap enough to compute for every record. Each result says *why* it failed (`detail`), so
a summary can tell format drift (a code fence) from a wrong answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from harness.constraints import (
    BulletsConstraint,
    CommandOnlyConstraint,
    Constraint,
    ContainsConstraint,
    JsonConstraint,
    LengthConstraint,
    NotContainsConstraint,
    RegexConstraint,
)


class ConstraintResult(msgspec.Struct, kw_only=True):
    type: str
    passed: bool
    detail: str = ""


_FENCE_RE = re.compile(r"^\s*```")
_FENCED_BLOCK_RE = re.compile(r"```[A-Za-z0-9_-]*\n(.*?)\n?```", re.DOTALL)
_BULLET_RE = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+\S")
_PROSE_START_RE = re.compile(
    r"^(?:here(?:'s| is| are)?|this|that|these|to |you |the |use |run |i |sure|note|it |first|then|"
    r"alternatively|explanation)\b", re.IGNORECASE)
_SENTENCE_END_RE = re.compile(r"[A-Za-z)][.!?]$")


def _embedded_json(text: str) -> bool:
    """Whether a fenced block, or the span from the first `{`/`[` to the last `}`/`]`, parses:
    the answer is right but the format drifted, which users want told apart from broken JSON."""
    fenced = _FENCED_BLOCK_RE.search(text)
    candidates = [fenced.group(1)] if fenced else []
    for opener, closer in ("{}", "[]"):
        start, end = text.find(opener), text.rfind(closer)
        if 0 <= start < end:
            candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            json.loads(candidate)
        except json.JSONDecodeError:
            continue
        return True
    return False


def _check_json(output: str, c: JsonConstraint) -> ConstraintResult:
    text = output.strip()
    if _FENCE_RE.match(text):
        return ConstraintResult(type=c.type, passed=False, detail="wrapped in code fence")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if _embedded_json(text):
            where = "code fence" if _FENCED_BLOCK_RE.search(text) else "prose"
            return ConstraintResult(type=c.type, passed=False, detail=f"valid JSON wrapped in {where}")
        return ConstraintResult(type=c.type, passed=False,
                                detail=f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    if c.json_schema is not None:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import best_match

        error = best_match(Draft202012Validator(c.json_schema).iter_errors(value))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            return ConstraintResult(type=c.type, passed=False, detail=f"schema: {where}: {error.message}")
    return ConstraintResult(type=c.type, passed=True)


def _fold(text: str, case_sensitive: bool) -> str:
    return text if case_sensitive else text.casefold()


def _check_contains(output: str, c: ContainsConstraint) -> ConstraintResult:
    haystack = _fold(output, c.case_sensitive)
    missing = [v for v in c.values if _fold(v, c.case_sensitive) not in haystack]
    if c.mode == "all":
        passed = not missing
        detail = "" if passed else "missing " + ", ".join(repr(v) for v in missing)
    else:
        passed = len(missing) < len(c.values)
        detail = "" if passed else "none of " + ", ".join(repr(v) for v in c.values)
    return ConstraintResult(type=c.type, passed=passed, detail=detail)


def _check_not_contains(output: str, c: NotContainsConstraint) -> ConstraintResult:
    haystack = _fold(output, c.case_sensitive)
    present = [v for v in c.values if _fold(v, c.case_sensitive) in haystack]
    detail = "contains " + ", ".join(repr(v) for v in present) if present else ""
    return ConstraintResult(type=c.type, passed=not present, detail=detail)


def _check_regex(output: str, c: RegexConstraint) -> ConstraintResult:
    flags = re.IGNORECASE if c.ignore_case else 0
    pattern = re.compile(c.pattern, flags)
    matched = pattern.fullmatch(output.strip()) if c.fullmatch else pattern.search(output)
    how = "fullmatch" if c.fullmatch else "match"
    return ConstraintResult(type=c.type, passed=matched is not None,
                            detail="" if matched else f"no {how} for /{c.pattern}/")


def _check_bullets(output: str, c: BulletsConstraint) -> ConstraintResult:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    bullets = [line for line in lines if _BULLET_RE.match(line)]
    if len(bullets) != c.count:
        return ConstraintResult(type=c.type, passed=False, detail=f"{len(bullets)} bullets, expected {c.count}")
    if c.only and len(lines) != len(bullets):
        return ConstraintResult(type=c.type, passed=False,
                                detail=f"{len(lines) - len(bullets)} non-bullet line(s) besides the bullets")
    return ConstraintResult(type=c.type, passed=True)


def _check_command_only(output: str, c: CommandOnlyConstraint) -> ConstraintResult:
    def fail(detail: str) -> ConstraintResult:
        return ConstraintResult(type=c.type, passed=False, detail=detail)

    text = output.strip()
    if not text:
        return fail("empty output")
    if "```" in text:
        return fail("wrapped in code fence")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > c.max_lines:
        return fail(f"{len(lines)} lines, at most {c.max_lines} allowed")
    for line in lines:
        if line.startswith("`") and line.endswith("`"):
            return fail("wrapped in backticks")
        if line.startswith(("$ ", "# ", "> ")):
            return fail(f"starts with a prompt or comment marker: {line[:40]!r}")
        if _PROSE_START_RE.match(line) or _SENTENCE_END_RE.search(line) or line.endswith(":"):
            return fail(f"prose, not a command: {line[:40]!r}")
    if c.commands:
        first = lines[0].split()[0]
        if first == "sudo" and len(lines[0].split()) > 1:
            first = lines[0].split()[1]
        if first not in c.commands:
            return fail(f"starts with {first!r}, expected one of {', '.join(c.commands)}")
    return ConstraintResult(type=c.type, passed=True)


def _check_length(output: str, c: LengthConstraint) -> ConstraintResult:
    text = output.strip()
    problems: list[str] = []
    if c.min_chars is not None and len(text) < c.min_chars:
        problems.append(f"{len(text)} chars < {c.min_chars}")
    if c.max_chars is not None and len(text) > c.max_chars:
        problems.append(f"{len(text)} chars > {c.max_chars}")
    if c.max_lines is not None:
        n_lines = len([line for line in text.splitlines() if line.strip()])
        if n_lines > c.max_lines:
            problems.append(f"{n_lines} lines > {c.max_lines}")
    if c.max_words is not None and len(text.split()) > c.max_words:
        problems.append(f"{len(text.split())} words > {c.max_words}")
    return ConstraintResult(type=c.type, passed=not problems, detail="; ".join(problems))


_CHECKS: dict[type[Any], Callable[[str, Any], ConstraintResult]] = {
    JsonConstraint: _check_json,
    ContainsConstraint: _check_contains,
    NotContainsConstraint: _check_not_contains,
    RegexConstraint: _check_regex,
    BulletsConstraint: _check_bullets,
    CommandOnlyConstraint: _check_command_only,
    LengthConstraint: _check_length,
}


def check_constraints(output: str, constraints: Sequence[Constraint]) -> list[ConstraintResult]:
    """One result per constraint, in order."""
    return [_CHECKS[type(c)](output, c) for c in constraints]


def adherence(results: Sequence[ConstraintResult]) -> float | None:
    """Fraction of constraints passed; None when the item had none (not the same as 0)."""
    if not results:
        return None
    return sum(1 for r in results if r.passed) / len(results)
