"""The rubric: automatic scoring on hand-made outputs, bands, tasks file, manual scoring."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents.config import FleetConfig
from agents.phases import make_phase
from archive.store import RunStore
from calibration.manual import ManualSession
from calibration.manual_store import load_manual_points
from calibration.rubric import auto_score, band
from calibration.settings import RUBRIC_DEFAULT
from calibration.tasks import load_calibration_tasks
from cluster.cli import app
from harness.records import CallRecord

runner = CliRunner()
TASK = next(t for t in load_calibration_tasks() if t.id == "backend-002")
GOOD = '''```python
from dataclasses import dataclass


class UserRepository:
    """Users in memory."""

    def __init__(self) -> None:
        self._users: dict[int, str] = {}

    def add(self, user_id: int, name: str) -> None:
        # replace silently: ids are unique by contract
        self._users[user_id] = name

    def get(self, user_id: int) -> str:
        try:
            return self._users[user_id]
        except KeyError:
            raise KeyError(f"no user {user_id}") from None

    def list(self) -> list[str]:
        return list(self._users.values())

    def delete(self, user_id: int) -> None:
        self._users.pop(user_id, None)


def test_get_missing() -> None:
    import pytest
    with pytest.raises(KeyError):
        UserRepository().get(1)
```'''
PROSE = "A repository pattern keeps storage apart from business logic. It is widely used."


def test_bands_at_their_boundaries() -> None:
    assert band(100) == band(90) == "production-ready, use as-is"
    assert band(89.9) == "very good, minor polish needed" and band(70) == "good, needs review before use"
    assert band(60) == "acceptable, significant revision needed" and band(59.9) == "reference only, needs rework"


def test_good_code_beats_prose_on_every_criterion() -> None:
    good, prose = auto_score(GOOD, TASK, RUBRIC_DEFAULT), auto_score(PROSE, TASK, RUBRIC_DEFAULT)
    assert good.total >= 80 and prose.total < 30
    assert good.scores["correctness"] == 20  # all five expected elements
    for criterion in ("correctness", "structure", "documentation", "testing"):
        assert good.scores[criterion] > prose.scores[criterion], criterion
    assert sum(good.scores.values()) == pytest.approx(good.total)


def test_each_criterion_can_fail() -> None:
    no_docs = GOOD.replace('"""Users in memory."""', "pass").replace("# replace silently: ids are unique by contract\n", "")
    assert auto_score(no_docs, TASK, RUBRIC_DEFAULT).scores["documentation"] < 15
    no_tests = GOOD.split("def test_get_missing")[0].replace("try:", "if True:").replace("except KeyError:", "else:")
    no_tests = no_tests.replace("raise KeyError", "return KeyError")
    assert auto_score(no_tests, TASK, RUBRIC_DEFAULT).scores["testing"] < 10
    missing = GOOD.replace("KeyError", "LookupError")  # 4 of the 5 expected elements left
    assert auto_score(missing, TASK, RUBRIC_DEFAULT).scores["correctness"] == 16
    slow = GOOD + "\n```python\nimport time\ntime.sleep(1)\nfor a in x:\n    for b in x:\n        pass\n```"
    assert auto_score(slow, TASK, RUBRIC_DEFAULT).scores["performance"] == 0


def test_custom_criterion_gets_the_mean_share() -> None:
    score = auto_score(GOOD, TASK, {"correctness": 50, "style": 50})
    assert score.scores["correctness"] == 50 and score.scores["style"] == 50


def test_tasks_file_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "tasks.yaml"
    bad.write_text("tasks:\n  - id: a\n    name: A\n    category: x\n    prompt: p\n    colour: red\n")
    from harness.errors import InputError
    with pytest.raises(InputError) as err:
        load_calibration_tasks(bad)
    assert "tasks.yaml:6" in str(err.value) and "colour" in str(err.value)
    dup = tmp_path / "dup.yaml"
    dup.write_text("tasks:\n  - {id: a, name: A, category: x, prompt: p}\n  - {id: a, name: B, category: x, prompt: q}\n")
    with pytest.raises(InputError, match="dup.yaml:3.*duplicate task id"):
        load_calibration_tasks(dup)


def test_phase_scores_records_and_summarises() -> None:
    phase = make_phase("calibration", FleetConfig())
    from agents.phases.base import PlanContext
    from harness.model_ref import ModelRef
    items = phase.plan(PlanContext(suites=[], models=[ModelRef.parse("sim/a")], config=FleetConfig(), limit=2))
    assert [i.item_id for i in items] == ["backend-001", "backend-002"] and items[1].category == "backend"
    from harness.seam import ProviderResponse
    extra = phase.score(items[1], ProviderResponse(text=GOOD))
    assert extra["rubric"]["total"] >= 80  # type: ignore[index]
    records = [CallRecord(run_id="r", phase="calibration", item_id="backend-002", model="sim/a", category="backend",
                          status="ok", extra=extra)]
    text = phase.summary_section(records)
    assert text is not None and "| sim/a | 1 |" in text and "**Rubric (automatic)**" in text


def _run_with_answers(tmp_path: Path) -> tuple[Path, str]:
    runs = tmp_path / "runs"
    run = RunStore(runs).create("r1", {"run_id": "r1", "created_at": "2026-11-22T00:00:00Z", "status": "completed"})
    run.append_records([
        CallRecord(run_id="r1", phase="calibration", item_id="backend-002", model="sim/a", status="ok", output=GOOD),
        CallRecord(run_id="r1", phase="calibration", item_id="data-001", model="sim/a", status="ok", output=PROSE),
        CallRecord(run_id="r1", phase="calibration", item_id="data-001", model="sim/b", status="error")])
    return runs, "r1"


def test_manual_session_validates_and_resumes(tmp_path: Path) -> None:
    runs, run_id = _run_with_answers(tmp_path)
    run = RunStore(runs).find(run_id)
    records = run.load_records()
    asked: list[str] = []
    answers = iter(["25", "x", "20", "18"])  # 25 and x are refused, then two criteria, then input ends

    def ask(prompt: str) -> str:
        asked.append(prompt)
        try:
            return next(answers)
        except StopIteration:
            raise EOFError from None

    ManualSession(run.path, records, RUBRIC_DEFAULT, ask=ask, show=lambda _: None).run()
    assert asked[:3] == ["Correctness (0-20): "] * 3 and asked[3] == "Structure (0-20): "
    assert load_manual_points(run.path)[("calibration", "backend-002", "sim/a", "", 0)] == \
        {"correctness": 20, "structure": 18}
    # resume: no question asked twice; full answers for both ok records (errors are not scored)
    asked.clear()
    answers = iter(["15", "20", "15", "10"] + ["10", "10", "10", "10", "10", "5"])
    totals = ManualSession(run.path, records, RUBRIC_DEFAULT, ask=ask, show=lambda _: None).run()
    assert asked[0] == "Performance (0-15): " and len(asked) == 10
    assert totals[("calibration", "backend-002", "sim/a", "", 0)] == pytest.approx(98.0)
    assert totals[("calibration", "data-001", "sim/a", "", 0)] == pytest.approx(55.0)


def test_score_cli_auto_and_manual(tmp_path: Path) -> None:
    runs, run_id = _run_with_answers(tmp_path)
    result = runner.invoke(app, ["score", run_id, "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    assert "2 answers scored" in result.output and (runs / "2026-11-22" / run_id / "rubric_scores.json").is_file()
    manual = runner.invoke(app, ["score", run_id, "--manual", "--runs-dir", str(runs)], input="20\n20\n")
    assert manual.exit_code == 0 and "Structure (0-20)" in manual.output and "resume" in manual.output
    missing = runner.invoke(app, ["score", "nope", "--runs-dir", str(runs)])
    assert missing.exit_code == 2 and "nope" in missing.output
