"""The public benchmark data file: scores, prices, context windows per model.

Why a data file with a strict schema: the numbers are copied by hand and go stale; a team
must be able to edit them without code, and a typo (`humaneval: 8o`) must stop the command
with the file and line rather than silently rank a model at zero.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

import suites
from harness.errors import InputError
from harness.yaml_input import locate_line, read_yaml, validate_document

DEFAULT_BENCHMARKS = Path(suites.__file__).resolve().parent / "public_benchmarks.yaml"
TEN_POINT_SCALES = frozenset({"mt_bench"})  # published on 0-10; x10 to join the others


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: float = Field(ge=0)
    output: float = Field(ge=0)


class BenchmarkEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=3, pattern=r"^[\w.-]+/[\w.:-]+$")
    scores: dict[str, float] = Field(default_factory=dict)
    price: Price
    context_window: int | None = Field(default=None, ge=1)
    aliases: list[str] = Field(default_factory=list)
    source: str = ""

    @model_validator(mode="after")
    def _ranges(self) -> BenchmarkEntry:
        for name, value in self.scores.items():
            top = 10.0 if name in TEN_POINT_SCALES else 100.0
            if not 0 <= value <= top:
                raise ValueError(f"score {name}={value} is outside 0-{top:g}")
        return self

    def normalised(self) -> dict[str, float]:
        """Every score on 0-100."""
        return {k: v * 10 if k in TEN_POINT_SCALES else v for k, v in self.scores.items()}

    @property
    def cost_per_m(self) -> float:
        return (self.price.input + self.price.output) / 2


class BenchmarksFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: str = ""
    models: list[BenchmarkEntry] = Field(min_length=1)


def load_benchmarks(path: Path | None = None) -> BenchmarksFile:
    path = path or DEFAULT_BENCHMARKS
    doc = read_yaml(path)
    data = validate_document(doc, BenchmarksFile)
    seen: set[str] = set()
    for n, entry in enumerate(data.models):
        if entry.id in seen:
            line = locate_line(doc.root, ("models", n, "id"))
            raise InputError(f"{path}:{line}", f"models[{n}].id: duplicate model id {entry.id!r}")
        seen.add(entry.id)
    return data
