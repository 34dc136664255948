"""Model names as users write them: `provider/model[@variant]`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.errors import InputError

_MODEL_RE = re.compile(r"^(?P<provider>[a-z][a-z0-9_-]*)/(?P<model>[^@\s]+)(?:@(?P<variant>[A-Za-z0-9._-]+))?$")


@dataclass(frozen=True, slots=True, order=True)
class ModelRef:
    """A parsed model name. `variant` is "" when none was given (e.g. reasoning effort `@high`)."""

    provider: str
    model: str
    variant: str = ""

    @property
    def name(self) -> str:
        """`provider/model` without the variant: the record's `model` field."""
        return f"{self.provider}/{self.model}"

    def __str__(self) -> str:
        return f"{self.name}@{self.variant}" if self.variant else self.name

    @classmethod
    def parse(cls, text: str, where: str = "--models") -> ModelRef:
        match = _MODEL_RE.match(text.strip())
        if not match:
            raise InputError(where, f"model {text!r} is not of the form provider/model[@variant]")
        return cls(match["provider"], match["model"], match["variant"] or "")
