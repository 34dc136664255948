"""Prompt suites: the YAML schema, name resolution, and loading with file:line errors.

Why a strict schema (`extra="forbid"`): a misspelled key (`max_token:`) would otherwise be
ignored and silently change what is benchmarked. Why the file's sha256 in `LoadedSuite`:
the manifest records exactly which suite text produced a run's numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.constraints import Constraint
from harness.errors import InputError
from harness.yaml_input import check_unique_ids, first_duplicate, read_yaml, validate_document
from suites import SUITES_DIR

ITEM_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
_BARE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
NON_SUITE_FILES = frozenset({"simulator", "catalogue", "judge_dataset", "public_benchmarks", "calibration"})  # packaged YAML that is configuration, not a suite


class ItemDefaults(BaseModel):
    """Request settings for items that do not set their own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_tokens: int = Field(default=256, ge=1)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    stream: bool = True


class ExpectedCallSpec(BaseModel):
    """YAML form of `harness.tool_scoring.ExpectedCall`, in BFCL's terms: `accepted` maps each
    argument the call may carry to its acceptable values, "" among them meaning it may be left
    out; `required` (the schema's required arguments) must be sent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    accepted: dict[str, list[Any]] = Field(default_factory=dict)
    required: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _required_are_known(self) -> ExpectedCallSpec:
        unknown = [a for a in self.required if a not in self.accepted]
        if unknown:
            raise ValueError(f"required argument(s) {unknown} missing from accepted")
        return self


class Turn(BaseModel):
    """An earlier message of the conversation an item continues (BFCL's multi-message questions)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["user", "assistant"]
    content: str


class SuiteItem(BaseModel):
    """One prompt. Its `id` is part of the record key, so it must be stable and unique."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ITEM_ID_PATTERN, max_length=100)
    prompt: str = Field(min_length=1)
    system: str | None = None
    category: str = "general"
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    stream: bool | None = None
    tags: list[str] = Field(default_factory=list)
    constraints: list[Constraint] = Field(default_factory=list)
    # tool-use items: OpenAI-style function tools offered, and the calls that answer the item
    # (None or [] means no offered tool fits, so the right answer is no call)
    tools: list[dict[str, Any]] = Field(default_factory=list)
    expected_calls: list[ExpectedCallSpec] | None = None
    # messages before `prompt` (after `system`), oldest first; the tool-use phase sends them
    history: list[Turn] = Field(default_factory=list)


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    defaults: ItemDefaults = Field(default_factory=ItemDefaults)
    items: list[SuiteItem] = Field(min_length=1)
    # tool-use irrelevance items: "no_call" passes any reply that decodes as no call (BFCL's
    # rule); "no_attempt" also fails a shell command or a call that does not parse
    irrelevance: Literal["no_call", "no_attempt"] = "no_attempt"
    # the phases this suite is for when the run names none (empty: the default plan's)
    phases: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> Suite:
        if (duplicate := first_duplicate(item.id for item in self.items)) is not None:
            raise ValueError(f"duplicate item id {duplicate!r}")
        return self


@dataclass(frozen=True, slots=True)
class LoadedSuite:
    suite: Suite
    path: Path
    sha256: str

    @property
    def name(self) -> str:
        return self.suite.name


def packaged_suites() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml") if p.stem not in NON_SUITE_FILES)


def resolve_suite_path(name_or_path: str) -> Path:
    """A bare name (`baseline`) is a packaged suite; anything else must be an existing file."""
    if _BARE_NAME_RE.fullmatch(name_or_path) and name_or_path not in NON_SUITE_FILES:
        packaged = SUITES_DIR / f"{name_or_path}.yaml"
        if packaged.is_file():
            return packaged
        if not Path(name_or_path).is_file():
            known = ", ".join([*packaged_suites(), f"{BFCL_PREFIX}CATEGORY"])
            raise InputError(name_or_path, f"no packaged suite of that name (known: {known}) and no such file")
    path = Path(name_or_path).expanduser()
    if not path.exists():
        raise InputError(str(path), "file not found")
    if not path.is_file():
        raise InputError(str(path), "not a file")
    return path


BFCL_PREFIX = "bfcl:"  # `bfcl:<category>`: a Berkeley Function Calling Leaderboard category


def load_suite(name_or_path: str | Path) -> LoadedSuite:
    """Resolve, parse and validate a suite; any problem is one `InputError` naming file:line.
    `bfcl:<category>` reads that category from the installed bfcl-eval package."""
    if isinstance(name_or_path, str) and name_or_path.startswith(BFCL_PREFIX):
        from agents.bfcl import load_bfcl_suite  # it builds this module's types

        return load_bfcl_suite(name_or_path)
    path = resolve_suite_path(str(name_or_path))
    doc = read_yaml(path)
    check_unique_ids(doc, "items")
    suite = validate_document(doc, Suite)
    return LoadedSuite(suite=suite, path=path.resolve(), sha256=doc.sha256)

