"""Calibration tasks as data: id, name, category, prompt, expected elements,
complexity, language.

Why data and a strict schema: a team adds its own tasks without code, and a typo must stop
the run with the file and the line rather than silently change what is measured. An
expected element is a regular expression, compiled at load time, so a broken pattern is a
load error on its own line instead of a crash in the middle of scoring. The language is
checked against the families the automatic rubric knows (`LANGUAGES`), because an unknown
or misspelt language would quietly fall back to generic scoring.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

import suites
from harness.yaml_input import check_unique_ids, read_yaml, validate_document

DEFAULT_TASKS = Path(suites.__file__).resolve().parent / "calibration.yaml"
TASK_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"  # the record key's item_id; same shape as suite items
CATEGORY_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"  # lower-case: "Backend" and "backend" must not split tables

Family = Literal["python", "js", "sql", "shell", "generic"]
# task `language` (and code-fence tag) -> the rubric's language family; "other" = generic rules
LANGUAGES: dict[str, Family] = {
    "python": "python", "py": "python", "python3": "python",
    "javascript": "js", "js": "js", "jsx": "js", "typescript": "js", "ts": "js", "tsx": "js",
    "sql": "sql", "postgresql": "sql", "postgres": "sql", "mysql": "sql", "sqlite": "sql",
    "shell": "shell", "bash": "shell", "sh": "shell", "zsh": "shell",
    "other": "generic",
}


def _regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return pattern


def _language(name: str) -> str:
    if name not in LANGUAGES:
        raise ValueError(f"unknown language {name!r} (known: {', '.join(sorted(LANGUAGES))})")
    return name


class CalibrationTask(BaseModel):
    """One task every model answers; `expected_elements` are case-insensitive regexes
    (`a|b` = either) that a correct answer contains."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=TASK_ID_PATTERN, max_length=100)
    name: str = Field(min_length=1)
    category: str = Field(pattern=CATEGORY_PATTERN, max_length=50)
    prompt: str = Field(min_length=1)
    expected_elements: list[Annotated[str, Field(min_length=1), AfterValidator(_regex)]] = \
        Field(default_factory=list)
    complexity: Literal["simple", "medium", "complex"]
    language: Annotated[str, AfterValidator(_language)]
    max_tokens: int = Field(default=1024, ge=1, description="answer budget: complex tasks need room")

    @property
    def family(self) -> Family:
        return LANGUAGES[self.language]


class TasksFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: list[CalibrationTask] = Field(min_length=1)


def load_calibration_tasks(path: Path | None = None) -> list[CalibrationTask]:
    """The tasks of `path` (default: the packaged `suites/calibration.yaml`), in file order;
    any problem is one `InputError` naming file:line."""
    doc = read_yaml(path or DEFAULT_TASKS)
    check_unique_ids(doc, "tasks", "task")  # the id is the record key's item_id
    return validate_document(doc, TasksFile).tasks

