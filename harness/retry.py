"""The single retry layer (SDK retries are always off underneath it).

Why one layer: stacked retries multiply (promptfoo's and LiteLLM's users' complaint),
and only one place can guarantee we never retry earlier than the server asked.
"""

from __future__ import annotations

import random

from pydantic import BaseModel, ConfigDict, Field


class RetryPolicy(BaseModel):
    """Exponential backoff with full jitter, bounded by attempts and a total deadline."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(default=6, ge=1)
    base_delay_s: float = Field(default=0.5, gt=0)
    max_delay_s: float = Field(default=60.0, gt=0, description="cap on our own backoff, never on the server's ask")
    deadline_s: float = Field(default=600.0, gt=0, description="total budget for one call, waits included")


_MAX_EXPONENT = 62  # 2**62 * any sane base already exceeds every cap; avoids float overflow


def backoff_delay_s(policy: RetryPolicy, attempt: int, server_wait_s: float | None,
                    rng: random.Random) -> float:
    """How long to wait after failed attempt number `attempt` (1-based).

    Full jitter (uniform in [0, min(max_delay_s, base * 2**(attempt-1))]) spreads a herd
    of retrying callers out; the result is then raised to the server's own ask, which is
    never capped: a long Retry-After is honoured (or the caller gives up because it would
    pass its deadline), never replaced by a shorter backoff of ours.
    """
    exponent = min(max(attempt, 1) - 1, _MAX_EXPONENT)
    cap = min(policy.max_delay_s, policy.base_delay_s * float(2**exponent))
    jitter = rng.uniform(0.0, cap)
    floor = server_wait_s if server_wait_s is not None and server_wait_s > 0 else 0.0
    return max(floor, jitter)
