"""One model call end to end: limiter lease, attempt, classify, wait, retry; never raises.

Why here and nowhere else: this is the single retry layer (SDK retries are off), the
single place that turns a server's 429 into a provider-wide pause, and the place that
keeps limiter waits out of TTFT by starting the clock only once the lease is held.
A provider failure always comes back as an outcome with an error class, so one bad
item can never take down a phase; only cancellation propagates.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from typing import Literal

import msgspec

from harness.errors import ErrorClass, RetryDecision
from harness.limits import Limiter
from harness.records import AttemptInfo
from harness.redact import default_redactor
from harness.retry import RetryPolicy, backoff_delay_s
from harness.seam import CallRequest, ProviderAPI, ProviderResponse
from harness.timing import CallClock, CallTiming

DEFAULT_LEASE_TTL_S = 10.0
Sleep = Callable[[float], Awaitable[None]]


class CallOutcome(CallTiming, kw_only=True):
    """The terminal result of one call, all attempts included. Timing is the last attempt's."""

    status: Literal["ok", "error"]
    response: ProviderResponse | None = None
    error_class: str | None = None
    error_message: str | None = None
    attempts: int = 0
    attempt_log: list[AttemptInfo] = msgspec.field(default_factory=list)
    streamed: bool = True


def estimate_tokens(request: CallRequest) -> int:
    """Rough input+output budget for the token window: ~4 chars a token plus max_tokens.

    The limiter corrects it to the real usage on release, so crude is good enough.
    """
    return sum(len(m.content) for m in request.messages) // 4 + request.max_tokens


def _tokens_used(response: ProviderResponse) -> int | None:
    if response.input_tokens is None and response.output_tokens is None:
        return None
    return (response.input_tokens or 0) + (response.output_tokens or 0)


async def _keep_renewing(limiter: Limiter, lease_id: str, every_s: float) -> None:
    """Renew the lease so a long stream is not reclaimed as a dead holder's.

    Uses the real `asyncio.sleep` on purpose: an injected fast sleep would make this spin.
    """
    while True:
        await asyncio.sleep(every_s)
        with contextlib.suppress(Exception):  # a failed renew only risks an early reclaim
            await limiter.renew(lease_id)


def _classify(provider: ProviderAPI, exc: Exception) -> RetryDecision:
    try:
        decision = provider.classify(exc)
    except Exception as inner:  # noqa: BLE001 - a buggy classifier must not become a raised call
        return RetryDecision("no", ErrorClass.UNKNOWN,
                             f"{type(exc).__name__}: {exc} (classify failed: {type(inner).__name__})")
    return decision


def _finish(outcome: CallOutcome, clock: CallClock | None) -> CallOutcome:
    if clock is not None:
        outcome.fill_from(clock)
    if outcome.error_message is not None:
        outcome.error_message = default_redactor().redact(outcome.error_message)
    return outcome


async def execute_call(provider: ProviderAPI, request: CallRequest, limiter: Limiter,
                       policy: RetryPolicy, *, holder: str, rng: random.Random | None = None,
                       sleep: Sleep = asyncio.sleep,
                       monotonic: Callable[[], float] = time.monotonic) -> CallOutcome:
    """Run `request` against `provider` through `limiter`, retrying per `policy`.

    Stops when an error is not retryable, attempts are exhausted, or the next wait would
    pass `policy.deadline_s` (measured from entry, limiter waits included).
    """
    rng = rng if rng is not None else random.Random()
    deadline = monotonic() + policy.deadline_s
    estimate = estimate_tokens(request)
    ttl = float(getattr(limiter, "lease_ttl_s", DEFAULT_LEASE_TTL_S) or DEFAULT_LEASE_TTL_S)
    log: list[AttemptInfo] = []
    clock: CallClock | None = None
    last: RetryDecision | None = None

    for attempt in range(1, policy.max_attempts + 1):
        lease = await limiter.acquire(holder, tokens=estimate)
        clock = CallClock()
        renewer = asyncio.create_task(_keep_renewing(limiter, lease.lease_id, ttl / 3))
        response: ProviderResponse | None = None
        error: Exception | None = None
        try:
            clock.start()
            response = await provider.call(request, clock)
        except Exception as exc:  # noqa: BLE001 - classified below; CancelledError still propagates
            error = exc
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            if clock.end_ns is None:
                clock.finish()
            await limiter.release(lease.lease_id, _tokens_used(response) if response else None)

        if response is not None:
            log.append(AttemptInfo(attempt=attempt, request_id=response.request_id))
            return _finish(CallOutcome(status="ok", response=response, attempts=attempt,
                                       attempt_log=log, streamed=request.stream), clock)

        assert error is not None
        last = _classify(provider, error)
        info = AttemptInfo(attempt=attempt, error_class=str(last.error_class), status=last.status,
                           request_id=getattr(error, "request_id", None),
                           retry_after_s=last.retry_after_s)
        log.append(info)
        if last.kind == "rate_limit" and last.retry_after_s is not None and last.retry_after_s > 0:
            # every caller of this provider waits, not just us: the server is saying "all of you"
            await limiter.pause(last.retry_after_s, reason=str(last.error_class))
        if not last.retryable or attempt >= policy.max_attempts:
            break
        delay = backoff_delay_s(policy, attempt, last.retry_after_s, rng)
        if monotonic() + delay > deadline:
            break
        info.waited_s = delay
        await sleep(delay)

    assert last is not None
    return _finish(CallOutcome(status="error", error_class=str(last.error_class),
                               error_message=last.message, attempts=len(log), attempt_log=log,
                               streamed=request.stream), clock)
