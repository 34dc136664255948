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
from collections.abc import AsyncGenerator, AsyncIterable, Iterable

import structlog

from harness.call import CallOutcome, Sleep, execute_call
from harness.errors import ErrorClass
from harness.limit_contract import Limiter
from harness.retry import RetryPolicy
from harness.seam import CallRequest, ProviderAPI

# (adapter, request with that provider's model ID, that provider's limiter, `provider/model` name)
FallbackTarget = tuple[ProviderAPI, CallRequest, Limiter, str]
_log = structlog.get_logger("fleetbench.fallback")


async def call_with_fallback(primary: FallbackTarget,
                             fallback_chain: Iterable[FallbackTarget] | AsyncIterable[FallbackTarget],
                             policy: RetryPolicy, holder: str, *, rng: random.Random | None = None,
                             sleep: Sleep = asyncio.sleep) -> tuple[CallOutcome, str]:
    """Run `primary`; on `quota_exhausted` try each fallback in order until one does not
    report an exhausted quota. Returns the last outcome and the name of the model that
    produced it. The outcome's `attempts`/`attempt_log` cover every model tried (attempts
    numbered across them), so the quota failures stay visible in the record.

    The chain may be lazy (an async iterator): a target is only made, and its adapter
    only built, once the model before it ran out of quota.
    """
    adapter, request, limiter, answered = primary
    outcome = await execute_call(adapter, request, limiter, policy, holder=holder, rng=rng, sleep=sleep)
    targets = _each(fallback_chain)
    try:
        while outcome.error_class == ErrorClass.QUOTA_EXHAUSTED:
            try:  # asked for only now, so a lazy chain builds nothing for a call that succeeded
                adapter, request, limiter, name = await anext(targets)
            except StopAsyncIteration:
                break
            _log.warning("quota exhausted; falling back", model=answered, fallback=name)
            earlier = outcome.attempt_log
            outcome = await execute_call(adapter, request, limiter, policy, holder=holder, rng=rng, sleep=sleep)
            for info in outcome.attempt_log:
                info.attempt += len(earlier)
            outcome.attempt_log = [*earlier, *outcome.attempt_log]
            outcome.attempts = len(outcome.attempt_log)
            answered = name
    finally:
        await targets.aclose()
    return outcome, answered


async def _each(targets: Iterable[FallbackTarget] | AsyncIterable[FallbackTarget]
                ) -> AsyncGenerator[FallbackTarget, None]:
    if isinstance(targets, AsyncIterable):
        async for target in targets:
            yield target
    else:
        for target in targets:
            yield target
