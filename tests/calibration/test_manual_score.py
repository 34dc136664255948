"""Manual rubric scoring (one question per criterion, resumable) and `fleetbench score`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archive.store import RunStore
from calibration.manual import ManualSession, label, parse_points, summarise
from calibration.manual_store import MANUAL_SCORES_JSONL, load_manual_points
from calibration.settings import RUBRIC_DEFAULT
from cli.app import app
from harness.records import CallRecord
from suites import SUITES_DIR

runner = CliRunner()
CODE = '''```python
"""Users in memory."""
import pytest


class UserRepository:
    def get(self, user_id: int) -> str:
        try:
            return self._users[user_id]
        except KeyError:
            raise KeyError(user_id) from None


def test_get() -> None:
    with pytest.raises(KeyError):
        UserRepository().get(1)
```'''
PROSE = "Join the tables and sum the amounts."
KEY_A = ("calibration", "backend-002", "sim/a", "", 0)
KEY_B = ("calibration", "data-001", "sim/a", "", 0)
KEY_Q = ("baseline", "router-json", "sim/a", "", 0)


def _records() -> list[CallRecord]:
    return [
        CallRecord(run_id="r1", phase="calibration", item_id="data-001", model="sim/a", category="data",
                   status="ok", output=PROSE),
        CallRecord(run_id="r1", phase="calibration", item_id="backend-002", model="sim/a", category="backend",
                   status="ok", output=CODE),
        CallRecord(run_id="r1", phase="calibration", item_id="data-001", model="sim/b", status="error"),
        CallRecord(run_id="r1", phase="judge-bench", item_id="j1", model="sim/j", status="ok", output='{"score": 7}'),
    ]


def _run(tmp_path: Path, records: list[CallRecord], suites: list[dict[str, str]] | None = None) -> tuple[Path, Path]:
    runs = tmp_path / "runs"
    run = RunStore(runs).create("r1", {"run_id": "r1", "created_at": "2026-11-22T00:00:00Z", "status": "completed",
                                       "suites": suites or []})
    run.append_records(records)
    return runs, run.path


class Script:
    """Plays the human: answers in order, then ends input (Ctrl-D) or interrupts (Ctrl-C)."""

    def __init__(self, answers: list[str], end: type[BaseException] = EOFError) -> None:
        self.answers, self.end = list(answers), end
        self.asked: list[str] = []
        self.shown: list[str] = []

    def ask(self, prompt: str) -> str:
        self.asked.append(prompt)
        if not self.answers:
            raise self.end
        return self.answers.pop(0)

    def show(self, text: str) -> None:
        self.shown.append(text)


def _session(run_dir: Path, script: Script, weights: dict[str, int] | None = None,
             records: list[CallRecord] | None = None, **kw: object) -> ManualSession:
    return ManualSession(run_dir, _records() if records is None else records, weights or RUBRIC_DEFAULT,
                         ask=script.ask, show=script.show, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("raw", "top", "points"), [
    ("7", 20, 7), (" 20 ", 20, 20), ("0", 15, 0), ("21", 20, None), ("-1", 20, None), ("7.5", 20, None),
    ("", 20, None), ("seven", 20, None), ("٣", 20, None),
])
def test_points_are_whole_numbers_in_range(raw: str, top: int, points: int | None) -> None:
    assert parse_points(raw, top) == points


def test_labels_and_summaries() -> None:
    assert label("best_practices") == "Best practices" and label("correctness") == "Correctness"
    assert summarise("a\n  b   c") == "a b c"
    long = summarise("word " * 200)
    assert len(long) == 300 and long.endswith("…")


def test_bad_answers_are_asked_again_and_never_stored(tmp_path: Path) -> None:
    _, run_dir = _run(tmp_path, _records())
    script = Script(["25", "x", "-1", "7.5", "", "20"])
    result = _session(run_dir, script).run()
    assert script.asked[:6] == ["Correctness (0-20): "] * 6 and script.asked[6] == "Structure (0-20): "
    assert sum("not a whole number from 0 to 20" in s for s in script.shown) == 5
    assert load_manual_points(run_dir) == {KEY_A: {"correctness": 20}}
    assert result.stopped and result.totals == {} and result.unanswered == 11


def test_records_in_key_order_with_prompt_and_output_shown(tmp_path: Path) -> None:
    _, run_dir = _run(tmp_path, _records())
    script = Script([])
    _session(run_dir, script, prompts={"backend-002": "Implement a\n UserRepository class."}).run()
    header = script.shown[0]
    assert "[1/2] sim/a · calibration/backend-002 · backend" in header  # backend-002 sorts before data-001
    assert "Prompt: Implement a UserRepository class." in header and "class UserRepository:" in header
    cut = Script([])
    _session(run_dir, cut, max_output_chars=10).run()
    assert "Prompt: (prompt not available)" in cut.shown[0] and f"({len(CODE) - 10} more chars)" in cut.shown[0]


def test_an_interrupted_session_resumes_without_asking_anything_twice(tmp_path: Path) -> None:
    _, run_dir = _run(tmp_path, _records())
    first = Script(["20", "18", "15"], end=KeyboardInterrupt)
    assert _session(run_dir, first).run().unanswered == 9
    second = Script(["20", "15", "10"] + ["10", "10", "10", "10", "5", "3"])
    result = _session(run_dir, second).run()
    assert second.asked[0] == "Best practices (0-20): " and len(second.asked) == 9
    # one stored line per (answer, criterion): nothing was asked twice; errors and judges never asked
    lines = [json.loads(line) for line in (run_dir / MANUAL_SCORES_JSONL).read_text().splitlines()]
    pairs = [(tuple(line["key"]), line["criterion"]) for line in lines]
    assert len(pairs) == len(set(pairs)) == 12 and {k for k, _ in pairs} == {KEY_A, KEY_B}
    assert not result.stopped and result.unanswered == 0 and result.order == [KEY_A, KEY_B]
    assert result.totals == {KEY_A: pytest.approx(98.0), KEY_B: pytest.approx(48.0)}
    assert "  total 98.0: production-ready, use as-is" in second.shown
    assert "  total 48.0: reference only, needs rework" in second.shown
    third = Script([])
    assert _session(run_dir, third).run().totals == result.totals and third.asked == []


def test_an_answer_above_a_lowered_maximum_is_asked_again(tmp_path: Path) -> None:
    only_a = _records()[1:2]
    _, run_dir = _run(tmp_path, only_a)
    _session(run_dir, Script(["18", "12"]), {"correctness": 20, "structure": 20}, only_a).run()
    again = Script(["9"])
    result = _session(run_dir, again, {"correctness": 20, "structure": 10}, only_a).run()
    assert again.asked == ["Structure (0-10): "]
    assert load_manual_points(run_dir)[KEY_A] == {"correctness": 18, "structure": 9}
    assert result.totals[KEY_A] == pytest.approx(100 * 27 / 30)


def _prompts(output: str) -> list[str]:
    return re.findall(r"[A-Z][a-z ]+ \(0-\d+\): ", output)


def test_cli_auto_scores_every_answer_and_writes_rubric_scores(tmp_path: Path) -> None:
    baseline = CallRecord(run_id="r1", phase="baseline", item_id="router-json", model="sim/a", status="ok",
                          output="```sql\nSELECT id\nFROM t\nWHERE x IS NOT NULL;\n```")
    runs, run_dir = _run(tmp_path, [*_records(), baseline])
    result = runner.invoke(app, ["score", "r1", "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    assert "3 answers scored (2 against a calibration task, 1 without expected elements" in result.output
    document = json.loads((run_dir / "rubric_scores.json").read_text())
    rows = {tuple(row["key"]): row for row in document["records"]}
    assert set(rows) == {KEY_A, KEY_B, KEY_Q} and document["weights"] == RUBRIC_DEFAULT
    assert rows[KEY_Q]["calibration_task"] is False and rows[KEY_Q]["language"] == "sql"
    assert rows[KEY_A]["total"] > rows[KEY_B]["total"] and rows[KEY_A]["scores"]["correctness"] == 16  # 4 of 5
    assert rows[KEY_A]["band"] in result.output and "backend-002" in result.output


def test_cli_manual_is_interrupted_then_resumed(tmp_path: Path) -> None:
    suites = [{"name": "baseline", "path": str(SUITES_DIR / "baseline.yaml"), "sha256": "x"}]
    baseline = CallRecord(run_id="r1", phase="baseline", item_id="router-json", model="sim/a", status="ok",
                          output="{}")
    runs, run_dir = _run(tmp_path, [*_records(), baseline], suites)
    args = ["score", "r1", "--manual", "--runs-dir", str(runs)]
    first = runner.invoke(app, args, input="20\n20\n")  # input ends at the third question
    assert first.exit_code == 0, first.output
    assert _prompts(first.output) == ["Correctness (0-20): ", "Structure (0-20): ", "Performance (0-15): "]
    assert "stopped with 16 question(s) open" in first.output and "0 of 3 ok answers fully scored" in first.output
    assert "Prompt: " in first.output and "router-json" in first.output  # baseline prompt from the suite
    second = runner.invoke(app, args, input="\n".join(["9"] * 16 + [""]))
    assert second.exit_code == 0, second.output
    asked = _prompts(second.output)
    assert asked[0] == "Performance (0-15): " and len(asked) == 16  # 18 questions - 2 answered before
    assert "3 of 3 ok answers fully scored by hand (all answers scored)" in second.output
    assert "Implement a UserRepository" in second.output  # the calibration task's prompt
    lines = (run_dir / MANUAL_SCORES_JSONL).read_text().splitlines()
    assert len(lines) == 18 and len({(tuple(json.loads(x)["key"]), json.loads(x)["criterion"]) for x in lines}) == 18
    # a total and a band per answer: 20 + 20 + 4 x 9 for the first, 6 x 9 for the others
    assert re.search(r"router-json\s*│\s*76\.0\s*│\s*good, needs review before use", second.output)
    assert len(re.findall(r"│\s*54\.0\s*│\s*reference only, needs rework", second.output)) == 2


def test_cli_takes_rubric_weights_from_the_config(tmp_path: Path) -> None:
    runs, _ = _run(tmp_path, _records()[1:2])
    config = tmp_path / "fleet.yaml"
    config.write_text("calibration:\n  rubric:\n    weights:\n      correctness: 10\n      style: 5\n")
    manual = runner.invoke(app, ["score", "r1", "--manual", "--runs-dir", str(runs), "--config", str(config)],
                           input="10\n4\n")
    assert manual.exit_code == 0, manual.output
    assert _prompts(manual.output) == ["Correctness (0-10): ", "Style (0-5): "] and "93.3" in manual.output


@pytest.mark.parametrize(("args", "words"), [
    (["score", "nope"], ["RUN_ID", "no run 'nope'"]),
    (["score", "../escape"], ["RUN_ID"]),
    (["score", "r1", "--manual", "--tasks", "{bad}"], ["bad.yaml:2", "language"]),
    (["score", "r1", "--config", "{config}"], ["fleet.yaml:1", "colour"]),
])
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path: Path, args: list[str], words: list[str]) -> None:
    runs, run_dir = _run(tmp_path, _records())
    bad = tmp_path / "bad.yaml"
    bad.write_text("tasks:\n  - {id: a, name: A, category: x, prompt: p, complexity: simple, language: klingon}\n")
    config = tmp_path / "fleet.yaml"
    config.write_text("colour: red\n")
    argv = [a.format(bad=bad, config=config) for a in args] + ["--runs-dir", str(runs)]
    result = runner.invoke(app, argv, input="20\n")
    assert result.exit_code == 2, result.output
    for word in words:
        assert word in result.output
    assert not (run_dir / "rubric_scores.json").exists() and not (run_dir / MANUAL_SCORES_JSONL).exists()


def test_cli_uses_the_runs_own_tasks_file(tmp_path: Path) -> None:
    tasks = tmp_path / "own.yaml"
    tasks.write_text("tasks:\n  - {id: mine-1, name: Mine, category: data, prompt: Count rows., complexity: simple,"
                     " language: sql, expected_elements: [COUNT]}\n")
    record = CallRecord(run_id="r1", phase="calibration", item_id="mine-1", model="sim/a", status="ok",
                        output="```sql\nSELECT COUNT(*)\nFROM t;\n```")
    runs = tmp_path / "runs"
    run = RunStore(runs).create("r1", {"created_at": "2026-11-22T00:00:00Z", "request": {
        "options": {"calibration_tasks": str(tasks)}}, "suites": [{"path": str(tmp_path / "gone.yaml")}]})
    run.append_records([record])
    auto = runner.invoke(app, ["score", "r1", "--runs-dir", str(runs)])
    assert auto.exit_code == 0, auto.output
    row = json.loads((run.path / "rubric_scores.json").read_text())["records"][0]
    assert row["calibration_task"] is True and row["scores"]["correctness"] == 20
    manual = runner.invoke(app, ["score", "r1", "--manual", "--runs-dir", str(runs)], input="")
    assert "Prompt: Count rows." in manual.output and "gone.yaml is no longer readable" in manual.output
    tasks.unlink()  # the run's tasks file is gone: a clear error, and --tasks overrides it
    gone = runner.invoke(app, ["score", "r1", "--runs-dir", str(runs)])
    assert gone.exit_code == 2 and "own.yaml" in gone.output


def test_points_keep_the_scale_they_were_given_on(tmp_path: Path) -> None:
    only_a = _records()[1:2]
    _, run_dir = _run(tmp_path, only_a)
    _session(run_dir, Script(["18", "9"]), {"correctness": 20, "structure": 10}, only_a).run()
    raised = Script([])
    result = _session(run_dir, raised, {"correctness": 20, "structure": 20}, only_a).run()
    assert raised.asked == []  # 9 is still within 0-20: nothing to ask again
    assert result.totals[KEY_A] == pytest.approx(100 * 27 / 30)  # 9 of 10, not 9 of 20
