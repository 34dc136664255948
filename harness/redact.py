"""Scrub secrets from anything we print, log or store.

Why at every exit and not at the source: error bodies echo keys back (OpenAI's 401 names
the key it was given), SDK messages embed headers, and configs carry tokens. A redactor
that knows the exact secret strings in play, plus a pattern pass for common key shapes
it was never told about, is the one place that makes "never put a key in a record" hold.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

MASK = "***"
ENV_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET")
MIN_ENV_SECRET_LEN = 8
MIN_SECRET_LEN = 4  # shorter explicit "secrets" would mask ordinary words

_KEY_SHAPES = (
    re.compile(r"(?<![A-Za-z0-9_\-])sk-ant-[A-Za-z0-9_\-]{6,}"),
    re.compile(r"(?<![A-Za-z0-9_\-])sk-[A-Za-z0-9_\-]{6,}"),
)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=\-]{6,}", re.IGNORECASE)


def secrets_from_env(env: Mapping[str, str] | None = None) -> set[str]:
    """Values of env vars named like secrets (`*_API_KEY`, `*_TOKEN`, `*_SECRET`)."""
    source = os.environ if env is None else env
    return {
        value for name, value in source.items()
        if name.upper().endswith(ENV_SUFFIXES) and len(value) >= MIN_ENV_SECRET_LEN
    }


class Redactor:
    """Replaces known secrets and key-shaped strings with `***`."""

    def __init__(self, secrets: Iterable[str] = (), *, include_env: bool = True,
                 env: Mapping[str, str] | None = None) -> None:
        known = {s for s in secrets if s and len(s) >= MIN_SECRET_LEN}
        if include_env:
            known |= secrets_from_env(env)
        self._secrets: list[str] = []
        self._pattern: re.Pattern[str] | None = None
        self.add(*known)

    def add(self, *secrets: str) -> None:
        """Learn more secrets (e.g. a key read after start-up)."""
        merged = set(self._secrets) | {s for s in secrets if s and len(s) >= MIN_SECRET_LEN}
        # longest first, so a secret containing another is masked whole
        self._secrets = sorted(merged, key=lambda s: (-len(s), s))
        self._pattern = re.compile("|".join(map(re.escape, self._secrets))) if self._secrets else None

    def redact(self, text: str) -> str:
        if not text:
            return text
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        for shape in _KEY_SHAPES:
            text = shape.sub(MASK, text)
        return _BEARER.sub(lambda m: m.group(1) + MASK, text)

    def __call__(self, text: str) -> str:
        return self.redact(text)

    def redact_obj(self, obj: Any) -> Any:
        """Redact every string inside nested dicts/lists/tuples (keys included)."""
        if isinstance(obj, str):
            return self.redact(obj)
        if isinstance(obj, Mapping):
            return {self.redact_obj(k): self.redact_obj(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.redact_obj(v) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self.redact_obj(v) for v in obj)
        return obj


@cache
def default_redactor() -> Redactor:
    """The process-wide redactor over the environment's secrets (built once, on first use)."""
    return Redactor()


def register_secrets(*secrets: str) -> None:
    """Teach the process-wide redactor secrets it cannot find in `os.environ` by name
    (keys read from `.env` files, or held under names without a secret-like suffix)."""
    default_redactor().add(*secrets)
