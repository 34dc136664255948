"""The 100-point rubric (seed 001): automatic scoring and the score bands.

Automatic scoring checks what a machine can see, per criterion, as a share of its points:
- correctness: expected elements present (each a regex; "a|b" = either);
- structure: code is there (a fence or code lines) with functions/classes/queries and imports;
- performance: no obvious red flags (nested loops over the same data, SELECT *, sleeps);
- best practices: idiomatic markers for the language (type hints, set -euo pipefail, const...);
- documentation: docstrings, comments, JSDoc/type hints;
- testing: error handling and tests (try/except, raise, pytest, exit codes, error checks).
A criterion it does not know (custom weights) gets the mean share of the known ones, stated.
Why heuristics and not execution: outputs are never run on the host; a human (`--manual`)
or a judge refines what heuristics cannot see.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from calibration.tasks import CalibrationTask

BANDS: tuple[tuple[float, str], ...] = (
    (90, "production-ready, use as-is"), (80, "very good, minor polish needed"),
    (70, "good, needs review before use"), (60, "acceptable, significant revision needed"),
    (0, "reference only, needs rework"))
_FENCE = re.compile(r"```[\w+-]*\n(.*?)```", re.DOTALL)


def band(total: float) -> str:
    return next(label for floor, label in BANDS if total >= floor)


@dataclass(frozen=True, slots=True)
class RubricScore:
    scores: dict[str, int]
    total: float  # 0-100
    band: str

    def as_extra(self) -> dict[str, object]:
        return {"scores": dict(self.scores), "total": self.total, "band": self.band}


def _code(output: str) -> str:
    blocks = _FENCE.findall(output)
    return "\n".join(blocks) if blocks else output


def _share(hits: int, of: int) -> float:
    return min(hits, of) / of if of else 0.0


def _has(text: str, *patterns: str) -> int:
    return sum(1 for p in patterns if re.search(p, text, re.MULTILINE | re.IGNORECASE))


def criterion_shares(output: str, task: CalibrationTask) -> dict[str, float]:
    code = _code(output)
    expected = [p for p in task.expected_elements if p]
    found = sum(1 for p in expected if re.search(p, output, re.IGNORECASE))
    shares = {
        "correctness": _share(found, len(expected)) if expected else (1.0 if code.strip() else 0.0),
        "structure": _share(_has(code, r"^\s*(def|class|function|const|export|SELECT|WITH)\b",
                                 r"^\s*(import|from \S+ import|#!/|require\()", r"\n.*\n.*\n"), 3),
        "performance": 0.0 if not code.strip() else 1.0 - _share(_has(
            code, r"for .*:\n\s+for .*:", r"SELECT \*", r"time\.sleep|sleep \d"), 2),
        "best_practices": _share(_has(code, r"->\s*\w|:\s*(str|int|dict|list|float|bool)\b",
                                      r"set -euo pipefail|\"\$\{?\w+\}?\"", r"\bconst\b|\blet\b",
                                      r"\bJOIN\b|\bGROUP BY\b|with .* as "), 2),
        "documentation": _share(_has(code, r'"""|\'\'\'', r"^\s*(#|//|--)\s*\w", r"/\*\*"), 2),
        "testing": _share(_has(code, r"\btry\b|\bexcept\b|\bcatch\b", r"\braise\b|\bthrow\b|exit [12]",
                               r"def test_|pytest|assert\b|describe\(|it\(", r"if \[|\bif not\b|is None"), 2),
    }
    return shares


def auto_score(output: str, task: CalibrationTask, weights: Mapping[str, int]) -> RubricScore:
    shares = criterion_shares(output, task)
    known = [shares[c] for c in weights if c in shares]
    fallback = sum(known) / len(known) if known else 0.0
    scores = {c: round(points * shares.get(c, fallback)) for c, points in weights.items()}
    total = 100.0 * sum(scores.values()) / sum(weights.values())
    return RubricScore(scores=scores, total=total, band=band(total))
