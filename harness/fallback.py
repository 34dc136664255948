"""Fall back to another model when a model's quota is exhausted.

Why only on `quota_exhausted`: an exhausted quota (OpenAI `insufficient_quota`, Anthropic
billing) does not come back by waiting, so the item would be lost; a rate limit does come
back, and answering it with another model would silently change what was measured. The
record must say which model answered (`CallRecord.answered_by`), so this returns the name.
Each target is a full `execute_call` with its own provider, limiter and retry budget, so a
fallback never borrows the primary's limiter lease or deadline.
"""

from __future__ import annotations

import asyncio
import random

import structlog

from harness.call import CallOutcome, Sleep, execute_call
from harness.errors import ErrorClass
from harness.limits import Limiter
from harness.records import AttemptInfo
from harness.retry import RetryPolicy
from harness.seam import CallRequest, ProviderAPI

# (adapter, request with that provider's model ID, that provider's limiter, `provider/model` name)
FallbackTarget = tuple[ProviderAPI, CallRequest, Limiter, str]
_log = structlog.get_logger("fleetbench.fallback")


async def call_with_fallback(primary: FallbackTarget, fallback_chain: list[FallbackTarget],
                             policy: RetryPolicy, holder: str, *, rng: random.Random | None = None,
                             sleep: Sleep = asyncio.sleep) -> tuple[CallOutcome, str]:
    """Run `primary`; on `quota_exhausted` try each fallback in order until one does not
    report an exhausted quota. Returns the last outcome and the name of the model that
    produced it. The outcome's `attempts`/`attempt_log` cover every model tried (attempts
    numbered across them), so the quota failures stay visible in the record.
    """
    targets = [primary, *fallback_chain]
    earlier: list[AttemptInfo] = []
    for index, (provider, request, limiter, name) in enumerate(targets):
        outcome = await execute_call(provider, request, limiter, policy, holder=holder, rng=rng, sleep=sleep)
        if earlier:
            offset = len(earlier)
            for info in outcome.attempt_log:
                info.attempt += offset
            outcome.attempt_log = [*earlier, *outcome.attempt_log]
            outcome.attempts = len(outcome.attempt_log)
        last = index == len(targets) - 1
        if outcome.error_class != ErrorClass.QUOTA_EXHAUSTED or last:
            return outcome, name
        _log.warning("quota exhausted; falling back", model=name, fallback=targets[index + 1][3])
        earlier = outcome.attempt_log
    raise AssertionError("unreachable: the loop returns on its last target")
