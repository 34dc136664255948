"""Fault-rule matching and Retry-After header rendering.

Why a seeded RNG and per-model `at` numbers: a benchmark of retry behaviour must be
reproducible, so "the 1st and 2nd request to model X fail" and "5% fail with seed 0"
both give the same failures on every run.
"""

from __future__ import annotations

import email.utils
import fnmatch
import math
import random
import time

from simulator.config import FaultRule

# Faults that replace the whole response before any content is produced.
EARLY_KINDS = frozenset({"server_error", "rate_limit", "quota", "overloaded", "auth"})


class FaultEngine:
    """Picks the fault (if any) for one request. First matching rule wins."""

    def __init__(self, rules: list[FaultRule], seed: int) -> None:
        self._rules = list(rules)
        self._seed = seed
        self._rng = random.Random(seed)

    def reset(self) -> None:
        """Re-seed, so a reset run reproduces the same random faults."""
        self._rng = random.Random(self._seed)

    def pick(self, api: str, model: str, model_seq: int) -> FaultRule | None:
        for rule in self._rules:
            if rule.api is not None and rule.api != api:
                continue
            if rule.model is not None and not fnmatch.fnmatchcase(model, rule.model):
                continue
            if rule.at is not None and model_seq in rule.at:
                return rule
            # Draw only for rules with a rate, so adding an `at` rule never shifts the sequence.
            if rule.rate is not None and self._rng.random() < rule.rate:
                return rule
        return None


def _openai_reset(seconds: float) -> str:
    """OpenAI's `x-ratelimit-reset-requests` style: '1m30s', '6s', '250ms'."""
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    minutes, secs = divmod(seconds, 60)
    if minutes >= 1:
        rest = f"{secs:g}s" if secs else ""
        return f"{int(minutes)}m{rest}"
    return f"{secs:g}s"


def retry_after_headers(seconds: float, fmt: str = "seconds") -> dict[str, str]:
    """Headers telling a client how long to wait, in one of the formats providers use."""
    if fmt == "http_date":
        return {"Retry-After": email.utils.formatdate(time.time() + seconds, usegmt=True)}
    if fmt == "ms":
        return {"retry-after-ms": str(round(seconds * 1000))}
    if fmt == "openai_reset":
        return {"x-ratelimit-reset-requests": _openai_reset(seconds)}
    return {"Retry-After": str(max(0, math.ceil(seconds)))}


def limiter_headers(seconds: float) -> dict[str, str]:
    """The simulator's own limiter sends both the integer and the exact value."""
    return {
        "Retry-After": str(max(1, math.ceil(seconds))),
        "retry-after-ms": str(max(0, math.ceil(seconds * 1000))),
    }
