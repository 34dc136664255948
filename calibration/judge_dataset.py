"""The labelled judge dataset: questions, candidate answers, and a human `good`/`bad` label.

Why a hash of the canonical content, not of the file bytes: comparisons are
only fair on the same dataset, so two runs must agree on *what* was judged; a reworded
comment or re-indented file is the same dataset, an edited answer or flipped label is not.
Why its own schema (not a prompt suite): an item carries the answer to judge and its
label, which a suite item must not (suites forbid unknown keys on purpose).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.yaml_input import check_unique_ids, first_duplicate, read_yaml, validate_document
from suites import SUITES_DIR

Label = Literal["good", "bad"]
DEFAULT_DATASET = SUITES_DIR / "judge_dataset.yaml"
ITEM_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"


class JudgeItem(BaseModel):
    """One labelled case. `id` becomes part of record keys, so it is stable and unique."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ITEM_ID_PATTERN, max_length=100)
    question: str = Field(min_length=1)
    answer: str = Field(min_length=1, description="the candidate answer a judge rates")
    label: Label
    category: str = "general"
    note: str = Field(default="", description="why the label, for humans; not hashed")


class JudgeDataset(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    items: list[JudgeItem] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> JudgeDataset:
        if (duplicate := first_duplicate(item.id for item in self.items)) is not None:
            raise ValueError(f"duplicate item id {duplicate!r}")
        return self


@dataclass(frozen=True, slots=True)
class LoadedJudgeDataset:
    dataset: JudgeDataset
    path: Path
    dataset_hash: str

    def chosen(self, limit: int | None) -> list[JudgeItem]:
        """The first `limit` items (all with None): what `--limit` means for every judge phase."""
        return list(self.dataset.items[:limit] if limit else self.dataset.items)

    def by_id(self) -> dict[str, JudgeItem]:
        return {item.id: item for item in self.dataset.items}


def dataset_hash(dataset: JudgeDataset) -> str:
    """sha256 over the items' judged content (id, question, answer, label, category) as
    canonical JSON: key order, YAML layout, comments and the human `note` do not count."""
    items = [item.model_dump(mode="json", exclude={"note"}) for item in dataset.items]
    canonical = json.dumps(items, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_judge_dataset(path: Path | str | None = None) -> LoadedJudgeDataset:
    """Read and validate; every problem is one `InputError` naming file:line and field."""
    resolved = Path(path).expanduser() if path else DEFAULT_DATASET
    doc = read_yaml(resolved)
    check_unique_ids(doc, "items")
    dataset = validate_document(doc, JudgeDataset)
    return LoadedJudgeDataset(dataset=dataset, path=resolved.resolve(), dataset_hash=dataset_hash(dataset))
