"""The automatic rubric: hand-made answers per language, each criterion's rule, bands."""

from __future__ import annotations

import math

import pytest

from calibration.rubric import auto_score, band, criterion_shares, detect_family
from calibration.settings import RUBRIC_DEFAULT
from calibration.tasks import CalibrationTask, load_calibration_tasks

TASKS = {t.id: t for t in load_calibration_tasks()}
PY_GOOD = '''Here is the repository:

```python
"""In-memory user repository."""
from __future__ import annotations


class UserRepository:
    """Users in memory, keyed by id."""

    def __init__(self) -> None:
        self._users: dict[int, str] = {}

    def add(self, user_id: int, name: str) -> None:
        """Store a user; ids are unique by contract."""
        if not name:
            raise ValueError("name must not be empty")
        self._users[user_id] = name

    def get(self, user_id: int) -> str:
        try:
            return self._users[user_id]
        except KeyError:
            raise KeyError(f"no user {user_id}") from None  # clearer message

    def list(self) -> list[str]:
        return list(self._users.values())

    def delete(self, user_id: int) -> None:
        self._users.pop(user_id, None)
```

```python
import pytest


def test_get_missing() -> None:
    with pytest.raises(KeyError):
        UserRepository().get(1)
```

Install with:
```bash
pip install pytest
```
'''
PROSE = "A repository pattern keeps storage apart from business logic. It is widely used.\n\n# Summary\nUse it."

SQL_GOOD = '''```sql
-- Total 2024 order amount per customer, highest first.
SELECT c.id,
       c.name,
       COALESCE(SUM(o.amount), 0) AS total_2024
FROM customers AS c
LEFT JOIN orders AS o
  ON o.customer_id = c.id
 AND o.created_at >= '2024-01-01'
 AND o.created_at < '2025-01-01'
GROUP BY c.id, c.name
ORDER BY total_2024 DESC;
```'''
SQL_BAD = '''```sql
select * from customers c, orders o where c.id = o.customer_id and YEAR(o.created_at) = 2024 order by o.amount desc
```'''

SH_GOOD = '''```bash
#!/usr/bin/env bash
# Back up a directory into /backups as a timestamped .tar.gz; keep the 7 newest.
set -euo pipefail

readonly DEST=/backups
readonly KEEP=7

usage() {
  echo "usage: $0 DIRECTORY" >&2
}

main() {
  local src="${1:-}"
  if [[ -z "$src" || ! -d "$src" ]]; then
    usage
    exit 1
  fi
  # timestamp to the second: two backups never collide
  local stamp
  stamp="$(date +%Y%m%d-%H%M%S)"
  tar -czf "$DEST/$(basename "$src")-$stamp.tar.gz" -C "$(dirname "$src")" "$(basename "$src")"
  # newest first; delete everything after the 7th
  find "$DEST" -maxdepth 1 -name '*.tar.gz' -printf '%T@ %p\\n' | sort -rn | tail -n +$((KEEP + 1)) | cut -d' ' -f2- | xargs -r rm --
}

main "$@"
```'''
SH_BAD = '''```sh
tar czf /backups/backup-`date +%s`.tar.gz $1
cd /backups
for f in $(ls -t | tail -n +8); do rm $f; done
```'''

JS_GOOD = '''```jsx
import React, { useState } from 'react';
import PropTypes from 'prop-types';

/**
 * A counter with increment and reset buttons.
 * @param {{initial?: number}} props
 */
export default function Counter({ initial = 0 }) {
  const start = Number.isFinite(initial) ? initial : 0;
  const [count, setCount] = useState(start);
  // functional update: safe under batching
  const increment = () => setCount((c) => c + 1);
  const reset = () => setCount(start);
  return (
    <div>
      <span>{count}</span>
      <button onClick={increment}>+1</button>
      <button onClick={reset}>Reset</button>
    </div>
  );
}

Counter.propTypes = { initial: PropTypes.number };
```'''
JS_BAD = '''```js
var Counter = function(props) {
  var [count, setCount] = useState(props.initial)
  return <button onClick={() => setCount(count + 1)}>{count == 0 ? 'zero' : count}</button>
}
```'''

TEST_GOOD = '''```python
"""Tests for parse_duration."""
import pytest

from durations import parse_duration


@pytest.mark.parametrize(("text", "seconds"), [("1h30m", 5400), ("45s", 45), ("2h", 7200)])
def test_parses(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_zero() -> None:
    # edge case: nothing but zeros
    assert parse_duration("0s") == 0


def test_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_duration("abc")
```'''

API_GOOD = '''```python
"""POST /users with validation."""
from itertools import count

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, EmailStr, field_validator

app = FastAPI()
_users: dict[int, dict[str, str]] = {}
_ids = count(1)


class NewUser(BaseModel):
    name: str
    email: EmailStr

    @field_validator("name")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be empty")
        return value


@app.post("/users", status_code=201)
def create_user(user: NewUser) -> dict[str, int]:
    """Store the user in memory and return its id (422 comes from validation)."""
    if any(u["email"] == user.email for u in _users.values()):
        raise HTTPException(status_code=409, detail="email already registered")
    user_id = next(_ids)
    _users[user_id] = {"name": user.name, "email": user.email}
    return {"id": user_id}
```'''


def _score(output: str, task_id: str | None = "backend-002") -> dict[str, int]:
    return auto_score(output, TASKS[task_id] if task_id else None, RUBRIC_DEFAULT).scores


@pytest.mark.parametrize(("total", "label"), [
    (100, "production-ready, use as-is"), (90, "production-ready, use as-is"),
    (89.99, "very good, minor polish needed"), (80, "very good, minor polish needed"),
    (79.99, "good, needs review before use"), (70, "good, needs review before use"),
    (69.99, "acceptable, significant revision needed"), (60, "acceptable, significant revision needed"),
    (59.99, "reference only, needs rework"), (0, "reference only, needs rework"),
    (-1, "reference only, needs rework"), (math.nan, "reference only, needs rework"),
])
def test_bands_at_their_boundaries(total: float, label: str) -> None:
    assert band(total) == label


@pytest.mark.parametrize(("task_id", "good", "bad"), [
    ("backend-002", PY_GOOD, PROSE), ("data-001", SQL_GOOD, SQL_BAD), ("devops-001", SH_GOOD, SH_BAD),
    ("frontend-001", JS_GOOD, JS_BAD), ("testing-001", TEST_GOOD, PROSE), ("backend-001", API_GOOD, PROSE),
])
def test_good_answers_outscore_poor_ones_in_every_language(task_id: str, good: str, bad: str) -> None:
    task = TASKS[task_id]
    strong, weak = auto_score(good, task, RUBRIC_DEFAULT), auto_score(bad, task, RUBRIC_DEFAULT)
    assert strong.total >= 85 and weak.total < 50, (strong, weak)
    assert strong.language == task.family
    assert strong.band in {"production-ready, use as-is", "very good, minor polish needed"}
    assert sum(strong.scores.values()) == pytest.approx(strong.total)  # the default rubric sums to 100


def test_code_beats_prose_on_every_criterion() -> None:
    good, prose = _score(PY_GOOD), _score(PROSE)
    assert all(good[c] > prose[c] for c in RUBRIC_DEFAULT), (good, prose)
    assert all(points == 0 for points in prose.values())  # no element, no code


def test_correctness_is_the_share_of_expected_elements_halved_when_code_does_not_parse() -> None:
    assert _score(PY_GOOD)["correctness"] == 20
    four_of_five = PY_GOOD.replace("KeyError", "LookupError")  # backend-002 expects KeyError
    assert _score(four_of_five)["correctness"] == 16
    broken = PY_GOOD.replace("def list(self) -> list[str]:", "def list(self) -> list[str]")
    assert _score(broken)["correctness"] == 10


def test_a_shell_fence_in_a_python_answer_is_not_parsed_as_python() -> None:
    # PY_GOOD ends with ```bash pip install pytest```; it must not fail the Python syntax check
    assert "```bash" in PY_GOOD and _score(PY_GOOD)["correctness"] == 20


def test_structure_needs_definitions_units_and_imports() -> None:
    one_function = "```python\ndef area(r: float) -> float:\n    return 3.14159 * r * r\n```"
    assert _score(one_function)["structure"] == 7  # 1 of 3: no second unit, no import
    assert _score("```python\nimport math\n\n" + one_function[10:])["structure"] == 13
    assert _score(PY_GOOD)["structure"] == 20


def test_performance_loses_half_per_red_flag() -> None:
    loop = "\n```python\nfor a in rows:\n    for b in rows:\n        pairs.append((a, b))\n```"
    sleep = "\n```python\nimport time\ntime.sleep(1)\n```"
    assert _score(PY_GOOD)["performance"] == 15
    assert _score(PY_GOOD + loop)["performance"] == 8  # 7.5 rounds half up
    assert _score(PY_GOOD + loop + sleep)["performance"] == 0
    assert auto_score(SQL_BAD, TASKS["data-001"], RUBRIC_DEFAULT).scores["performance"] == 0  # SELECT *, YEAR()


def test_best_practices_lose_half_per_anti_pattern() -> None:
    bare = PY_GOOD.replace("except KeyError:", "except:")
    assert _score(PY_GOOD)["best_practices"] == 20 and _score(bare)["best_practices"] == 10
    var_js = JS_GOOD.replace("const [count", "var [count")
    assert auto_score(var_js, TASKS["frontend-001"], RUBRIC_DEFAULT).scores["best_practices"] == 10


def test_documentation_counts_docstrings_comments_and_hints() -> None:
    undocumented = "\n".join(line for line in PY_GOOD.splitlines() if '"""' not in line)
    undocumented = undocumented.replace("  # clearer message", "")
    assert _score(undocumented)["documentation"] == 8  # type hints alone: 1 of 2
    no_hints = undocumented.replace(" -> None", "").replace(" -> str", "").replace(": int", "")
    no_hints = no_hints.replace(": str", "").replace(" -> list[str]", "").replace(": dict[int, str]", "")
    assert _score(no_hints)["documentation"] == 0


def test_testing_counts_error_handling_and_tests() -> None:
    careless = '''```python
import json


class UserRepository:
    def __init__(self) -> None:
        self._users: dict[int, str] = {}

    def get(self, user_id: int) -> str:
        return self._users[user_id]
```'''
    assert _score(careless)["testing"] == 0
    assert _score(careless.replace("return self._users[user_id]",
                                   "if user_id not in self._users:\n            raise KeyError(user_id)\n"
                                   "        return self._users[user_id]"))["testing"] == 5
    assert _score(PY_GOOD)["testing"] == 10


@pytest.mark.parametrize(("task_id", "answer", "broken"), [
    ("frontend-001", JS_GOOD, JS_GOOD.replace("  );\n}", "  );\n")),  # unclosed function body
    ("data-001", SQL_GOOD, SQL_GOOD.replace("'2025-01-01'", "'2025-01-01")),  # unterminated string
    ("devops-001", SH_GOOD, SH_GOOD.replace("    exit 1\n  fi\n", "    exit 1\n")),  # if without fi
])
def test_syntax_checks_of_the_other_languages(task_id: str, answer: str, broken: str) -> None:
    task = TASKS[task_id]
    assert auto_score(answer, task, RUBRIC_DEFAULT).scores["correctness"] == 20
    assert auto_score(broken, task, RUBRIC_DEFAULT).scores["correctness"] == 10


def test_a_truncated_answer_with_an_unclosed_fence_is_still_code() -> None:
    truncated = PY_GOOD.split("    def list(self)")[0]  # cut mid-class, fence never closed
    assert "```python" in truncated and truncated.count("```") == 1
    scores = _score(truncated)
    assert scores["structure"] == 20 and scores["documentation"] == 15


def test_unfenced_code_is_scored_as_code() -> None:
    bare = PY_GOOD.split("```python\n")[1].split("```")[0]
    assert _score(bare)["structure"] == 20


def test_without_a_task_the_language_is_detected() -> None:
    assert detect_family(SQL_GOOD) == "sql" and detect_family(JS_GOOD) == "js"
    untagged_sql = SQL_GOOD.replace("```sql", "```")
    assert detect_family(untagged_sql) == "sql"
    assert detect_family(SH_GOOD.replace("```bash\n", "")) == "shell"
    assert detect_family(PROSE) is None
    generic = auto_score(SQL_GOOD, None, RUBRIC_DEFAULT)
    assert generic.language == "sql" and generic.scores["correctness"] == 20  # no elements to miss
    none = auto_score(PROSE, None, RUBRIC_DEFAULT)
    assert none.language == "none" and none.scores["structure"] == 0 and none.total < 15


def test_a_task_of_language_other_uses_detection() -> None:
    task = CalibrationTask(id="x", name="x", category="misc", prompt="p", complexity="simple", language="other",
                           expected_elements=["GROUP BY"])
    score = auto_score(SQL_GOOD, task, RUBRIC_DEFAULT)
    assert score.language == "sql" and score.total >= 85


def test_custom_criteria_score_the_mean_share_of_the_built_in_ones() -> None:
    flagged = PY_GOOD + "\n```python\nimport time\ntime.sleep(1)\nfor a in x:\n    for b in x:\n        pass\n```"
    shares, _ = criterion_shares(flagged, TASKS["backend-002"])
    assert shares["performance"] == 0 and all(shares[c] == 1 for c in shares if c != "performance")
    score = auto_score(flagged, TASKS["backend-002"], {"correctness": 10, "style": 12})
    assert score.scores == {"correctness": 10, "style": 10}  # 12 x 5/6
    assert score.total == pytest.approx(100 * 20 / 22, abs=0.01)


def test_criterion_names_match_case_and_space_insensitively() -> None:
    named = auto_score(PY_GOOD.replace("except KeyError:", "except:"), TASKS["backend-002"],
                       {"Correctness": 20, "Best practices": 20, "error-handling": 10})
    assert named.scores == {"Correctness": 20, "Best practices": 10, "error-handling": 10}


def test_scoring_is_deterministic_and_rejects_empty_weights() -> None:
    task = TASKS["devops-001"]
    assert auto_score(SH_BAD, task, RUBRIC_DEFAULT) == auto_score(SH_BAD, task, RUBRIC_DEFAULT)
    with pytest.raises(ValueError):
        auto_score(SH_BAD, task, {})
    with pytest.raises(ValueError):
        auto_score(SH_BAD, task, {"correctness": 0})


def test_extra_shape() -> None:
    extra = auto_score(PY_GOOD, TASKS["backend-002"], RUBRIC_DEFAULT).as_extra()
    assert set(extra) == {"scores", "total", "band"} and isinstance(extra["total"], float)


def test_pathological_answers_score_in_linear_time() -> None:
    """Answers are untrusted text of any size; a backtracking pattern once took minutes on
    55 kB of `x >= 1 AND ...` (now milliseconds), so a generous bound catches a regression."""
    import time

    hostile = ["```sql\nSELECT a FROM t WHERE " + "x >= 1 AND " * 5000 + "\n```",
               "```js\n" + "/* a " * 20000 + "\n```", "```bash\n" + "find -exec a " * 10000 + "\n```",
               "```python\ndef f(" + "a b c " * 20000 + "\n```", "```sql\nSELECT 1 FROM a " + "JOIN b " * 20000]
    started = time.perf_counter()
    for answer in hostile:
        auto_score(answer, TASKS["data-001"], RUBRIC_DEFAULT)
        auto_score(answer, None, RUBRIC_DEFAULT)
    assert time.perf_counter() - started < 10
