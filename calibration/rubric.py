"""The 100-point rubric: automatic scoring and the score bands.

Why heuristics and not execution: answers are never run on the host; the automatic rubric
scores what a machine can see, and a human (`fleetbench score --manual`) or a judge refines
it. Each criterion is a share (0..1) of its points, computed on the answer's code in the
task's language family (python, js, sql, shell; fenced blocks of that language, else every
fence, else the whole answer):

- correctness: the share of the task's expected elements found in the answer (1 when the
  task lists none), halved when there is no code or the code does not parse (Python: `ast`;
  js/sql/shell: balanced brackets and block keywords once strings and comments are removed);
- structure: definitions (functions, classes, queries), more than one unit, imports/headers;
- performance: full marks minus half per red flag (nested loops, sleeps, SELECT *,
  functions on filtered columns, useless cat...), at most two counted;
- best practices: idioms of the language (type hints, context managers, const/===, explicit
  JOIN ... ON, set -euo pipefail, quoted variables), minus half per anti-pattern (bare
  except, var, comma joins, backticks...);
- documentation: docstrings, comments, JSDoc/PropTypes, type hints, usage text;
- testing: error handling and tests (try/except, raise/throw, exit codes, guards, NULL
  handling, test functions).
A rule needs `needed` of its checks for full marks. Every criterion but correctness is 0
when the answer has no code. A criterion the rubric does not know (custom weights) scores
the mean share of the six built-in ones; names are matched case- and space-insensitively
("Best practices" = best_practices). Points are rounded half up; the total is
points / rubric points x 100. An answer with no task (`fleetbench score` on a non-calibration
run) has no expected elements, and its language is taken from its fence tags, else from the
family whose checks it matches best.
"""

from __future__ import annotations

import ast
import math
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from calibration.tasks import LANGUAGES, CalibrationTask, Family

CRITERIA = ("correctness", "structure", "performance", "best_practices", "documentation", "testing")
ALIASES = {"error_handling": "testing", "tests": "testing", "docs": "documentation", "efficiency": "performance"}
BANDS: tuple[tuple[float, str], ...] = (
    (90, "production-ready, use as-is"), (80, "very good, minor polish needed"),
    (70, "good, needs review before use"), (60, "acceptable, significant revision needed"),
    (-math.inf, "reference only, needs rework"))
_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)", re.DOTALL | re.MULTILINE)


def band(total: float) -> str:
    """The bands' reading of a 0-100 total (NaN reads as the lowest band)."""
    return next((label for floor, label in BANDS if total >= floor), BANDS[-1][1])


def canonical(criterion: str) -> str:
    name = re.sub(r"[\s-]+", "_", criterion.strip().lower())
    return ALIASES.get(name, name)


@dataclass(frozen=True, slots=True)
class RubricScore:
    scores: dict[str, int]  # criterion (as configured) -> points
    total: float  # 0-100
    band: str
    language: str  # the family the answer was scored as ("none" when no code was recognised)

    def as_extra(self) -> dict[str, object]:
        """The shape stored in `record.extra["rubric"]`."""
        return {"scores": dict(self.scores), "total": self.total, "band": self.band}


@dataclass(frozen=True, slots=True)
class Check:
    pattern: re.Pattern[str]
    at_least: int = 1

    def hit(self, code: str) -> bool:
        if self.at_least == 1:
            return self.pattern.search(code) is not None
        return sum(1 for _ in self.pattern.finditer(code)) >= self.at_least


def _c(pattern: str, at_least: int = 1, *, icase: bool = False) -> Check:
    return Check(re.compile(pattern, re.MULTILINE | (re.IGNORECASE if icase else 0)), at_least)


@dataclass(frozen=True, slots=True)
class Rule:
    checks: tuple[Check, ...]
    needed: int

    def share(self, code: str) -> float:
        return min(sum(c.hit(code) for c in self.checks), self.needed) / self.needed


def _hits(checks: tuple[Check, ...], code: str) -> int:
    return sum(c.hit(code) for c in checks)


@dataclass(frozen=True, slots=True)
class Profile:
    definitions: Check  # "this is code": functions, classes, statements
    syntax_ok: Callable[[str], bool]
    structure: Rule
    best_practices: Rule
    documentation: Rule
    testing: Rule
    anti_patterns: tuple[Check, ...]  # each costs half of best practices
    red_flags: tuple[Check, ...]  # each costs half of performance


def _python_parses(code: str) -> bool:
    try:
        ast.parse(textwrap.dedent(code))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _balanced(text: str, openers: str, closers: str) -> bool:
    stack: list[str] = []
    for ch in text:
        if ch in openers:
            stack.append(ch)
        elif ch in closers and (not stack or openers.index(stack.pop()) != closers.index(ch)):
            return False
    return not stack


_JS_NOISE = re.compile(r"""//[^\n]*|/\*.*?(?:\*/|\Z)|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`""", re.DOTALL)
_SQL_NOISE = re.compile(r"--[^\n]*|/\*.*?(?:\*/|\Z)|'(?:''|[^'])*'|\"[^\"]*\"", re.DOTALL)
_SH_NOISE = re.compile(r"(?:^|(?<=\s))#[^\n]*|'[^']*'|\"(?:\\.|[^\"\\])*\"|\$#|\$\{#")


def _js_parses(code: str) -> bool:
    return _balanced(_JS_NOISE.sub(" ", code), "([{", ")]}")


def _sql_parses(code: str) -> bool:
    bare = _SQL_NOISE.sub(" ", code)
    return "'" not in bare and _balanced(bare, "(", ")")


def _shell_parses(code: str) -> bool:
    """Braces and brackets balance (parentheses do not: `case` patterns end in `)`), and
    every if/do/case is closed."""
    bare = _SH_NOISE.sub(" ", code)
    pairs = ((r"(?:^|[;&|]|\bthen|\bdo|\belse)[ \t]*if\b", r"\bfi\b"), (r"\bdo\b", r"\bdone\b"),
             (r"(?:^|[;&|])[ \t]*case\b", r"\besac\b"))
    keywords_close = all(len(re.findall(o, bare, re.MULTILINE)) == len(re.findall(c, bare, re.MULTILINE)) for o, c in pairs)
    return keywords_close and _balanced(bare, "{[", "}]")


_PY_DEFS = r"^[ \t]*(?:async[ \t]+)?def[ \t]+\w+[ \t]*\(|^[ \t]*class[ \t]+\w+"
_PY_HINTS = (r"\)[ \t]*->[ \t]*[\w\[\"']|^[ \t]*(?:async[ \t]+)?def[ \t]+\w+\([^)]{0,300}\w[ \t]*:[ \t]*[\w\[\"']"
             r"|^[ \t]*[A-Za-z_][\w.]*[ \t]*:[ \t]*(?:int|str|float|bool|bytes|list|dict|set|tuple|Any|[A-Z]\w*)\b")
_JS_DEFS = (r"^[ \t]*(?:export[ \t]+)?(?:default[ \t]+)?(?:async[ \t]+)?function\b"
            r"|^[ \t]*(?:export[ \t]+)?(?:const|let|var)[ \t]+\w+[ \t]*=[ \t]*(?:async[ \t]*)?(?:\([^)\n]{0,200}\)|\w+)[ \t]*=>"
            r"|^[ \t]*(?:export[ \t]+)?(?:default[ \t]+)?class[ \t]+\w+"
            r"|^[ \t]*(?:async[ \t]+)?(?!if\b|for\b|while\b|switch\b|catch\b|return\b)\w+[ \t]*\([^)\n]{0,200}\)[ \t]*\{")
_SQL_DEFS = r"^[ \t]*(?:SELECT|WITH|INSERT|UPDATE|DELETE|CREATE|ALTER)\b"
_SH_FUNCS = r"^[ \t]*(?:function[ \t]+\w+|\w+[ \t]*\(\)[ \t]*\{?)"
_SH_FLOW = r"^[ \t]*(?:if|for|while|case|until)\b"

PROFILES: dict[Family, Profile] = {
    "python": Profile(
        definitions=_c(_PY_DEFS), syntax_ok=_python_parses,
        structure=Rule((_c(_PY_DEFS), _c(_PY_DEFS, 2),
                        _c(r"^[ \t]*(?:import[ \t]+\w|from[ \t]+[\w.]+[ \t]+import[ \t])|^if __name__ ==")), 3),
        best_practices=Rule((_c(_PY_HINTS), _c(r"^[ \t]*(?:async[ \t]+)?with\b|\bf[\"']|@(?:dataclass|property|classmethod|staticmethod)\b"
                                               r"|\b(?:pathlib|logging)\b|\b(?:enumerate|isinstance|any|all|next|zip)\("),
                             _c(r"^[ \t]*except[ \t]+\w")), 2),
        documentation=Rule((_c(r"^[ \t]*[rRuU]?(?:\"\"\"|''')"), _c(r"^[ \t]*#(?!!)[ \t]*\S|\S[ \t]+#[ \t]+\S"),
                            _c(_PY_HINTS)), 2),
        testing=Rule((_c(r"^[ \t]*try[ \t]*:"), _c(r"^[ \t]*raise\b"),
                      _c(r"^[ \t]*(?:async[ \t]+)?def[ \t]+test_\w+|^[ \t]*assert\b|\bpytest\b|\bunittest\b"),
                      _c(r"\bif[ \t]+not\b|\bis(?:[ \t]+not)?[ \t]+None\b|\bisinstance\(")), 2),
        anti_patterns=(_c(r"^[ \t]*except[ \t]*:"), _c(r"^[ \t]*from[ \t]+\S+[ \t]+import[ \t]+\*"),
                       _c(r"\b(?:eval|exec)\("), _c(r"^[ \t]*global[ \t]"), _c(r"\brange\(len\("),
                       _c(r"def[ \t]+\w+\([^)]{0,300}=[ \t]*(?:\[\]|\{\})")),
        red_flags=(_c(r"^([ \t]*)for\b.*:[ \t]*\n\1[ \t]+for\b"), _c(r"\btime\.sleep\("), _c(r"\.readlines\(\)")),
    ),
    "js": Profile(
        definitions=_c(_JS_DEFS), syntax_ok=_js_parses,
        structure=Rule((_c(_JS_DEFS), _c(_JS_DEFS, 2),
                        _c(r"^[ \t]*(?:import|export)\b|\brequire\(|\bmodule\.exports\b")), 3),
        best_practices=Rule((_c(r"\b(?:const|let)[ \t]+\w"),
                             _c(r"=>|\basync\b|\bawait\b|\.\.\.\w|`[^`]{0,500}\$\{"), _c(r"===|!==")), 2),
        documentation=Rule((_c(r"/\*\*"), _c(r"^[ \t]*//[ \t]*\S|[;{}),][ \t]+//[ \t]*\S|\{/\*"),
                            _c(r"\bPropTypes\b|@param\b|@returns?\b|\binterface[ \t]+\w|:[ \t]*(?:string|number|boolean)\b")),
                           2),
        testing=Rule((_c(r"\btry[ \t]*\{"), _c(r"\bthrow\b|\.catch\(|\breject\("),
                      _c(r"^[ \t]*(?:describe|it|test)\(|\bexpect\("),
                      _c(r"\bif[ \t]*\([ \t]*!|[!=]==[ \t]*(?:null|undefined)\b|\?\?|\?\.|\btypeof\b|Number\.is\w+\(")), 2),
        anti_patterns=(_c(r"\bvar[ \t]+[\w\[{]"), _c(r"[^=!<>]==[^=]|!=[^=]"), _c(r"\beval\("), _c(r"document\.write\(")),
        red_flags=(_c(r"for[ \t]*\([^)\n]{0,200}\)[ \t]*\{?[ \t]*\n[ \t]*for[ \t]*\("), _c(r"JSON\.parse\(JSON\.stringify\("),
                   _c(r"\b\w+Sync\("), _c(r"for[ \t]*\([^)\n]{0,200}\)[ \t]*\{[ \t]*\n[^\n]{0,300}\bawait\b")),
    ),
    "sql": Profile(
        definitions=_c(_SQL_DEFS, icase=True), syntax_ok=_sql_parses,
        structure=Rule((_c(_SQL_DEFS, icase=True),
                        _c(r"^[ \t]*(?:FROM|WHERE|GROUP[ \t]+BY|ORDER[ \t]+BY|HAVING|LIMIT"
                           r"|(?:(?:LEFT|RIGHT|INNER|FULL|CROSS)[ \t]+)?(?:OUTER[ \t]+)?JOIN)\b", 2, icase=True),
                        _c(r";[ \t]*(?:--.*)?$")), 3),
        best_practices=Rule((_c(r"\bJOIN\b[^;]{0,300}?\bON\b", icase=True), _c(r"\bAS[ \t]+\w", icase=True),
                             _c(r"\bWITH[ \t]+\w+[ \t]+AS[ \t]*\(|\bOVER[ \t]*\(|\bGROUP[ \t]+BY\b", icase=True)), 2),
        documentation=Rule((_c(r"--[ \t]*\S|/\*"),), 1),
        testing=Rule((_c(r"\b(?:COALESCE|IFNULL|NULLIF)\(|\bIS[ \t]+(?:NOT[ \t]+)?NULL\b", icase=True),
                      _c(r"\bBETWEEN\b|>=[^;<]{0,200}<", icase=True),
                      _c(r"\b(?:BEGIN|ROLLBACK|COMMIT)\b", icase=True),
                      _c(r"\bNOT[ \t]+NULL\b|\bCHECK[ \t]*\(|\bUNIQUE\b|\bFOREIGN[ \t]+KEY\b", icase=True)), 2),
        anti_patterns=(_c(r"\bFROM[ \t]+\w+(?:[ \t]+(?:AS[ \t]+)?\w+)?[ \t]*,[ \t]*\w", icase=True),
                       _c(r"\bNATURAL[ \t]+JOIN\b", icase=True), _c(r"\bGROUP[ \t]+BY[ \t]+\d", icase=True)),
        red_flags=(_c(r"\bSELECT[ \t]+\*", icase=True), _c(r"\bLIKE[ \t]+'%", icase=True),
                   _c(r"\bNOT[ \t]+IN[ \t]*\([ \t]*SELECT", icase=True),
                   _c(r"\b(?:WHERE|AND)[ \t]+(?:YEAR|MONTH|DATE|LOWER|UPPER|EXTRACT|CAST|SUBSTR\w*)[ \t]*\(", icase=True),
                   _c(r"ORDER[ \t]+BY[ \t]+RAND(?:OM)?\(", icase=True)),
    ),
    "shell": Profile(
        definitions=_c(rf"^#!|{_SH_FUNCS}|{_SH_FLOW}"), syntax_ok=_shell_parses,
        structure=Rule((_c(r"^#!"), _c(_SH_FLOW), _c(_SH_FUNCS),
                        _c(r"^[ \t]*(?:readonly[ \t]+|local[ \t]+|declare[ \t]+\S+[ \t]+)?[A-Za-z_]\w*=")), 3),
        best_practices=Rule((_c(r"^[ \t]*set[ \t]+-[a-z]*e|\bset[ \t]+-o[ \t]+errexit"),
                             _c(r"\"\$\{?[\w@#?]+"), _c(r"\[\[|\$\(|\blocal[ \t]")), 2),
        documentation=Rule((_c(r"^[ \t]*#(?!!)[ \t]*\S"), _c(r"^[ \t]*#(?!!)[ \t]*\S", 3),
                            _c(r"\b[Uu]sage\b|--help\b")), 2),
        testing=Rule((_c(r"\bexit[ \t]+[1-9]|\breturn[ \t]+[1-9]|\|\|[ \t]*(?:exit|return|die|\{)"),
                      _c(r"\[\[?[ \t]+!?[ \t]*-[a-zA-Z][ \t]"), _c(r"\btrap\b"), _c(r">&2")), 2),
        anti_patterns=(_c(r"`[^`\n]+`"), _c(r"\brm[ \t]+-\w*[ \t]+\$"),
                       _c(r"for[ \t]+\w+[ \t]+in[ \t]+\$\(ls\b|\bls\b[^|\n]{0,200}\|")),
        red_flags=(_c(r"\bcat[ \t]+[^|\n]{1,200}\|[ \t]*(?:grep|awk|sed|wc|head|tail)\b"), _c(r"\bsleep[ \t]+\d"),
                   _c(r"\bfind\b[^\n|]{0,300}-exec\b[^\n]{0,300}\\;")),
    ),
}


def fenced_blocks(output: str) -> list[tuple[str, str]]:
    """(tag, body) of every ``` block; an unclosed last fence (a truncated answer) runs to the end."""
    return [(tag.lower(), body) for tag, body in _FENCE.findall(output)]


def code_for(output: str, family: Family) -> str:
    """The answer's code in `family`: its fences (untagged count as ours), else every fence,
    else the whole answer (models often answer with bare code)."""
    blocks = fenced_blocks(output)
    if not blocks:
        return output
    mine = [body for tag, body in blocks if not tag or LANGUAGES.get(tag) == family]
    return "\n".join(mine or [body for _, body in blocks])


def detect_family(output: str) -> Family | None:
    """Fence tags first (most frequent known one, earliest on ties), else the family whose
    structure and definitions the answer matches best; None when nothing looks like code."""
    tags = [LANGUAGES[t] for t, _ in fenced_blocks(output) if LANGUAGES.get(t, "generic") != "generic"]
    if tags:
        return max(dict.fromkeys(tags), key=tags.count)
    best: tuple[float, Family | None] = (0.0, None)
    for family, profile in PROFILES.items():
        code = code_for(output, family)
        fit = profile.structure.share(code) + profile.definitions.hit(code)
        if fit > best[0]:
            best = (fit, family)
    return best[1]


def _elements_share(output: str, task: CalibrationTask | None) -> float:
    expected = task.expected_elements if task is not None else []
    if not expected:
        return 1.0
    return sum(1 for p in expected if re.search(p, output, re.IGNORECASE | re.MULTILINE)) / len(expected)


def criterion_shares(output: str, task: CalibrationTask | None) -> tuple[dict[str, float], str]:
    """Each built-in criterion's share (0..1) and the family the answer was scored as."""
    family = task.family if task is not None and task.family != "generic" else detect_family(output)
    if family is None or family == "generic":
        return {c: 0.0 for c in CRITERIA} | {"correctness": 0.5 * _elements_share(output, task)}, "none"
    profile = PROFILES[family]
    code = code_for(output, family)
    # code = something that defines or states (a prose-only fence is no code), or a fence tagged ours
    has_code = profile.definitions.hit(code) or any(LANGUAGES.get(t) == family for t, _ in fenced_blocks(output))
    if not has_code:
        return {c: 0.0 for c in CRITERIA} | {"correctness": 0.5 * _elements_share(output, task)}, family
    parses = profile.syntax_ok(code)
    return {
        "correctness": _elements_share(output, task) * (1.0 if parses else 0.5),
        "structure": profile.structure.share(code),
        "performance": 1.0 - 0.5 * min(_hits(profile.red_flags, code), 2),
        "best_practices": max(0.0, profile.best_practices.share(code) - 0.5 * _hits(profile.anti_patterns, code)),
        "documentation": profile.documentation.share(code),
        "testing": profile.testing.share(code),
    }, family


def auto_score(output: str, task: CalibrationTask | None, weights: Mapping[str, int]) -> RubricScore:
    """Score `output` on the rubric `weights` (criterion -> max points); see the module doc."""
    if not weights or any(points <= 0 for points in weights.values()):
        raise ValueError("rubric weights must be positive and non-empty")
    shares, family = criterion_shares(output, task)
    fallback = sum(shares.values()) / len(shares)
    scores = {c: math.floor(points * shares.get(canonical(c), fallback) + 0.5) for c, points in weights.items()}
    total = round(100.0 * sum(scores.values()) / sum(weights.values()), 2)
    return RubricScore(scores=scores, total=total, band=band(total), language=family)
