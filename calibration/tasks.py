"""Calibration tasks (seed 001) as data: id, name, category, prompt, expected elements,
complexity, language. Why data: a team adds its own tasks without code, and a schema error
names the file and the line of the task."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

import suites
from harness.errors import InputError
from harness.yaml_input import locate_line, read_yaml, validate_document

DEFAULT_TASKS = Path(suites.__file__).resolve().parent / "calibration.yaml"


class CalibrationTask(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1)
    category: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    expected_elements: list[str] = Field(default_factory=list, description="regexes (| for alternatives)")
    complexity: Literal["simple", "medium", "complex"] = "medium"
    language: str = "python"


class TasksFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tasks: list[CalibrationTask] = Field(min_length=1)


def load_calibration_tasks(path: Path | None = None) -> list[CalibrationTask]:
    path = path or DEFAULT_TASKS
    doc = read_yaml(path)
    tasks = validate_document(doc, TasksFile).tasks
    seen: set[str] = set()
    for n, task in enumerate(tasks):
        if task.id in seen:
            raise InputError(f"{path}:{locate_line(doc.root, ('tasks', n, 'id'))}",
                             f"tasks[{n}].id: duplicate task id {task.id!r}")
        seen.add(task.id)
    return tasks
