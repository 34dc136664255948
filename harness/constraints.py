"""Machine-checkable output constraints, as a pydantic discriminated union on `type`.

Why here and not in `agents/`: the scorers in `harness/` judge outputs against these
models, and `harness` must not import `agents`; suites import them from here. Each model
validates itself at suite load time (regexes compile, JSON Schemas are well formed), so a
broken suite fails before any paid call, with the file line of the bad field.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Constraint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class JsonConstraint(_Constraint):
    """The whole output (surrounding whitespace aside) is JSON, optionally matching a schema.

    Strict on purpose: a ```json fence or a chatty preamble is format drift, which is what
    this benchmark measures.
    """

    type: Literal["json"]
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")

    @field_validator("json_schema")
    @classmethod
    def _schema_is_valid(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            from jsonschema import Draft202012Validator
            from jsonschema.exceptions import SchemaError

            try:
                Draft202012Validator.check_schema(value)
            except SchemaError as exc:
                path = "/".join(str(p) for p in exc.absolute_path) or "(root)"
                raise ValueError(f"invalid JSON Schema at {path}: {exc.message}") from None
        return value


class ContainsConstraint(_Constraint):
    """Expected substrings: all of them (`mode: all`) or at least one (`mode: any`)."""

    type: Literal["contains"]
    values: list[str] = Field(min_length=1)
    mode: Literal["all", "any"] = "all"
    case_sensitive: bool = False


class NotContainsConstraint(_Constraint):
    """Forbidden substrings (e.g. "As an AI", a fence, a language the prompt excluded)."""

    type: Literal["not_contains"]
    values: list[str] = Field(min_length=1)
    case_sensitive: bool = False


class RegexConstraint(_Constraint):
    """`re.search` (or `re.fullmatch` of the stripped output when `fullmatch`)."""

    type: Literal["regex"]
    pattern: str
    ignore_case: bool = False
    fullmatch: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
        return value


class BulletsConstraint(_Constraint):
    """Exactly `count` bullet lines (`-`, `*`, `•` or `1.`/`1)`); with `only`, nothing else."""

    type: Literal["bullets"]
    count: int = Field(ge=1)
    only: bool = False


class CommandOnlyConstraint(_Constraint):
    """Shell command line(s) and nothing else: no prose, no code fence, no `$ ` prompt.

    `commands`, when given, lists the acceptable first words (e.g. `ls`, `du`).
    """

    type: Literal["command_only"]
    max_lines: int = Field(default=1, ge=1)
    commands: list[str] = Field(default_factory=list)


class LengthConstraint(_Constraint):
    """Size bounds on the stripped output; at least one bound must be given."""

    type: Literal["length"]
    min_chars: int | None = Field(default=None, ge=0)
    max_chars: int | None = Field(default=None, ge=1)
    max_lines: int | None = Field(default=None, ge=1)
    max_words: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _has_bound(self) -> LengthConstraint:
        if all(v is None for v in (self.min_chars, self.max_chars, self.max_lines, self.max_words)):
            raise ValueError("give at least one of min_chars, max_chars, max_lines, max_words")
        if self.min_chars is not None and self.max_chars is not None and self.min_chars > self.max_chars:
            raise ValueError("min_chars is larger than max_chars")
        return self


Constraint = Annotated[
    JsonConstraint | ContainsConstraint | NotContainsConstraint | RegexConstraint
    | BulletsConstraint | CommandOnlyConstraint | LengthConstraint,
    Field(discriminator="type"),
]
