"""Calibration tasks as data (file:line errors) and the `calibration` phase that runs them."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from agents.config import FleetConfig
from agents.phases.base import PlanContext
from agents.phases.calibration import CalibrationPhase
from calibration.settings import CalibrationSettings, RubricSettings
from calibration.tasks import DEFAULT_TASKS, load_calibration_tasks
from harness.errors import InputError
from harness.model_ref import ModelRef
from harness.records import CallRecord
from harness.seam import ProviderResponse

GOOD_SQL = """```sql
-- Total 2024 order amount per customer, highest first.
SELECT c.id, c.name, COALESCE(SUM(o.amount), 0) AS total
FROM customers AS c
LEFT JOIN orders AS o ON o.customer_id = c.id
 AND o.created_at >= '2024-01-01' AND o.created_at < '2025-01-01'
GROUP BY c.id, c.name
ORDER BY total DESC;
```"""
TASK = """  - id: {id}
    name: Task {id}
    category: backend
    complexity: simple
    language: python
    prompt: Write it.
    expected_elements: ["def "]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tasks.yaml"
    path.write_text(text)
    return path


def test_packaged_tasks_cover_the_seed_categories_and_languages() -> None:
    tasks = load_calibration_tasks()
    assert len(tasks) >= 6 and len({t.id for t in tasks}) == len(tasks)
    assert {"backend", "frontend", "data", "devops", "testing"} <= {t.category for t in tasks}
    assert {"python", "js", "sql", "shell"} <= {t.family for t in tasks}
    assert all(t.expected_elements for t in tasks)
    assert load_calibration_tasks(DEFAULT_TASKS) == tasks


def test_a_custom_file_loads_in_order(tmp_path: Path) -> None:
    path = _write(tmp_path, "tasks:\n" + TASK.format(id="b-1") + TASK.format(id="a-1"))
    tasks = load_calibration_tasks(path)
    assert [t.id for t in tasks] == ["b-1", "a-1"] and tasks[0].max_tokens == 1024


@pytest.mark.parametrize(("text", "line", "words"), [
    ("tasks:\n" + TASK.format(id="a") + "    colour: red\n", 9, ["colour", "Extra inputs"]),
    ("tasks:\n" + TASK.format(id="a") + TASK.format(id="b").replace("    prompt: Write it.\n", ""), 9,
     ["tasks.1.prompt", "Field required"]),
    ("tasks:\n" + TASK.format(id="a") + TASK.format(id="a"), 9, ["duplicate task id 'a'", "first at line 2"]),
    ("tasks:\n" + TASK.format(id="a").replace('["def "]', '["def ", "(unclosed"]'), 8,
     ["expected_elements.1", "regular expression"]),
    ("tasks:\n" + TASK.format(id="a").replace("language: python", "language: pyhton"), 6,
     ["language", "unknown language 'pyhton'"]),
    ("tasks:\n" + TASK.format(id="a").replace("complexity: simple", "complexity: hard"), 5, ["complexity"]),
    ("tasks:\n" + TASK.format(id="a").replace("category: backend", "category: Backend"), 4, ["category"]),
    ("tasks:\n" + TASK.format(id="A b"), 2, ["tasks.0.id"]),
    ("tasks: []\n", 1, ["tasks", "at least 1"]),
    ("tasks:\n  - id: a\n    name: [unclosed\n", 4, ["YAML syntax error"]),  # where the parser stops
])
def test_bad_task_files_name_file_line_and_field(tmp_path: Path, text: str, line: int, words: list[str]) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_calibration_tasks(path)
    assert err.value.where == f"{path}:{line}", str(err.value)
    for word in words:
        assert word in str(err.value), str(err.value)


def test_a_missing_tasks_file_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_calibration_tasks(tmp_path / "nope.yaml")


def _ctx(config: FleetConfig | None = None, **kwargs: object) -> PlanContext:
    models = [ModelRef.parse("sim/a"), ModelRef.parse("sim/b")]
    return PlanContext(suites=[], models=models, config=config or FleetConfig(), **kwargs)  # type: ignore[arg-type]


def test_phase_plans_every_task_on_every_model() -> None:
    tasks = load_calibration_tasks()
    items = CalibrationPhase().plan(_ctx(repeat=2))
    assert len(items) == len(tasks) * 2 * 2
    assert {(i.item_id, i.model, i.repeat) for i in items} == \
        {(t.id, m, r) for t in tasks for m in ("sim/a", "sim/b") for r in (0, 1)}
    by_id = {t.id: t for t in tasks}
    for item in items:
        assert item.phase == "calibration" and item.category == by_id[item.item_id].category
        assert item.request.messages[-1].content == by_id[item.item_id].prompt
        assert item.request.max_tokens == by_id[item.item_id].max_tokens


def test_phase_limit_and_tasks_option(tmp_path: Path) -> None:
    limited = CalibrationPhase().plan(_ctx(limit=2))
    assert [i.item_id for i in limited][::2] == [t.id for t in load_calibration_tasks()[:2]]
    path = _write(tmp_path, "tasks:\n" + TASK.format(id="mine-1"))
    own = CalibrationPhase().plan(_ctx(options={"calibration_tasks": str(path)}))
    assert [i.item_id for i in own] == ["mine-1", "mine-1"]
    with pytest.raises(InputError, match="nope.yaml"):
        CalibrationPhase().plan(_ctx(options={"calibration_tasks": str(tmp_path / "nope.yaml")}))


def test_phase_scores_with_the_configured_weights_after_travelling() -> None:
    weights = {"correctness": 30, "documentation": 10, "style": 10}
    config = FleetConfig(calibration=CalibrationSettings(rubric=RubricSettings(weights=weights)))
    phase = CalibrationPhase()
    items = phase.plan(_ctx(config))
    sql_item = next(i for i in items if i.item_id == "data-001")
    remote: CalibrationPhase = pickle.loads(pickle.dumps(phase))  # the phase object is shipped to its subagent
    extra = remote.score(sql_item, ProviderResponse(text=GOOD_SQL))
    rubric = extra["rubric"]
    assert isinstance(rubric, dict) and set(rubric) == {"scores", "total", "band"}
    assert set(rubric["scores"]) == set(weights) and rubric["scores"]["correctness"] == 30
    assert 0 <= rubric["total"] <= 100 and rubric["band"] == "production-ready, use as-is"
    poor = remote.score(sql_item, ProviderResponse(text="I would join the tables."))["rubric"]
    assert isinstance(poor, dict) and poor["total"] < rubric["total"]
    assert CalibrationPhase().score(sql_item, ProviderResponse(text=GOOD_SQL)) == {}  # never planned


def _record(model: str, item: str, category: str, total: float | None, status: str = "ok",
            phase: str = "calibration") -> CallRecord:
    extra: dict[str, object] = {} if total is None else {"rubric": {"scores": {}, "total": total, "band": "x"}}
    return CallRecord(run_id="r", phase=phase, item_id=item, model=model, category=category,
                      status=status, extra=extra)  # type: ignore[arg-type]


def test_summary_has_mean_band_per_model_and_a_category_table() -> None:
    records = [_record("sim/a", "backend-001", "backend", 95), _record("sim/a", "data-001", "data", 75),
               _record("sim/b", "backend-001", "backend", 50),
               _record("sim/b", "data-001", "data", 99, status="error"),  # errors carry no rubric score
               _record("sim/b", "x", "data", None)]
    text = CalibrationPhase().summary_section(records)
    assert text is not None
    assert "| sim/a | 2 | 85.0 | very good, minor polish needed |" in text
    assert "| sim/b | 1 | 50.0 | reference only, needs rework |" in text
    assert "| model | backend | data |" in text
    assert "| sim/a | 95.0 | 75.0 |" in text and "| sim/b | 50.0 | – |" in text
    assert CalibrationPhase().summary_section([_record("sim/a", "x", "data", None)]) is None
