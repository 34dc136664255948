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

from harness.errors import ErrorClass, ProviderCallError, RetryDecision
from harness.limit_contract import Lease, Limiter, LimiterUnavailable
from harness.records import AttemptInfo
from harness.redact import default_redactor
from harness.retry import RetryPolicy, backoff_delay_s
from harness.seam import CallRequest, ProviderAPI, ProviderResponse
from harness.timing import CallClock, CallTiming

Sleep = Callable[[float], Awaitable[None]]
# one jitter source per process: seeding a Random from urandom on every call cost 8 % of a
# call's client CPU (cProfile, 2100 zero-delay simulator calls)
_JITTER = random.Random()


class CallOutcome(CallTiming, kw_only=True):
    """The terminal result of one call, all attempts included. Timing is the last attempt's."""

    status: Literal["ok", "error"]
    response: ProviderResponse | None = None
    error_class: str | None = None
    error_message: str | None = None
    attempts: int = 0
    attempt_log: list[AttemptInfo] = msgspec.field(default_factory=list)
    streamed: bool = True
    origin_ns: int | None = None  # when the last attempt left (monotonic ns): the base of its timings


def estimate_tokens(request: CallRequest) -> int:
    """Rough input+output budget for the token window: ~4 chars a token plus max_tokens.

    The limiter corrects it to the real usage on release, so crude is good enough.
    """
    return sum(len(m.content) for m in request.messages) // 4 + request.max_tokens


def _tokens_used(response: ProviderResponse) -> int | None:
    if response.input_tokens is None and response.output_tokens is None:
        return None
    return (response.input_tokens or 0) + (response.output_tokens or 0)


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
        outcome.origin_ns = clock.origin_ns
    if outcome.error_message is not None:
        outcome.error_message = default_redactor().redact(outcome.error_message)
    return outcome


def _deadline_decision(last: RetryDecision | None, what: str) -> RetryDecision:
    """The call ran out of time. After a provider failure the provider's class stands (a
    rate limit that never cleared is the provider's doing); with no attempt made, the
    wait was ours (the limiter) and is never charged to the model."""
    if last is not None:
        return RetryDecision("no", last.error_class, f"{last.message}; then {what}", last.retry_after_s,
                             last.status)
    return RetryDecision("no", ErrorClass.LIMITER_ERROR, what)


def _uncancelled_by_revocation(lease: Lease) -> bool:
    """True when the only cancellation pending on this task was our own lease revocation."""
    task = asyncio.current_task()
    return lease.revoked and task is not None and task.uncancel() == 0


async def _release(limiter: Limiter, lease: Lease, response: ProviderResponse | None) -> None:
    """A failed release must never discard a response that succeeded."""
    with contextlib.suppress(Exception):
        await limiter.release(lease.lease_id, _tokens_used(response) if response else None)


LOW_REMAINING = 0.1  # below this share of a rate window left, adaptive concurrency holds


def _report_outcome(limiter: Limiter, rate_limited: bool, clock: CallClock) -> None:
    """Feed the limiter's adaptive concurrency: a 429, or a clean call (and whether the
    server's headers said its window is nearly used up)."""
    outcome = getattr(limiter, "outcome", None)
    if outcome is not None:
        low = clock.rate_remaining is not None and clock.rate_remaining < LOW_REMAINING
        outcome(rate_limited=rate_limited, low_remaining=low)


async def execute_call(provider: ProviderAPI, request: CallRequest, limiter: Limiter,
                       policy: RetryPolicy, *, holder: str, rng: random.Random | None = None,
                       sleep: Sleep = asyncio.sleep,
                       monotonic: Callable[[], float] = time.monotonic) -> CallOutcome:
    """Run `request` against `provider` through `limiter`, retrying per `policy`.

    `policy.deadline_s` bounds the whole call, limiter waits and attempts included: the
    limiter wait and each attempt get only what is left, and a backoff that would pass it
    ends the call. A limiter that fails is retried with backoff, never raised; a permit
    revoked mid-attempt (the allowance behind it was reclaimed) interrupts the attempt,
    which is then made again under a new permit without counting against the model.
    """
    rng = rng if rng is not None else _JITTER
    deadline = monotonic() + policy.deadline_s
    estimate = estimate_tokens(request)
    log: list[AttemptInfo] = []
    clock: CallClock | None = None
    last: RetryDecision | None = None
    attempt = 0
    limiter_failures = 0

    while attempt < policy.max_attempts:
        remaining = deadline - monotonic()
        if remaining <= 0:
            last = _deadline_decision(last, f"the {policy.deadline_s:g} s deadline passed")
            break
        try:
            lease = await limiter.acquire(holder, tokens=estimate, timeout_s=remaining)
        except LimiterUnavailable as exc:
            last = _deadline_decision(last, f"the deadline passed waiting for the limiter ({exc})")
            break
        except Exception as exc:  # noqa: BLE001 - a limiter fault is ours: back off and ask again
            limiter_failures += 1
            last = RetryDecision("transient", ErrorClass.LIMITER_ERROR, f"limiter failed: {type(exc).__name__}: {exc}")
            delay = backoff_delay_s(policy, limiter_failures, None, rng)
            if monotonic() + delay > deadline:
                break
            await sleep(delay)
            continue
        attempt += 1
        clock = CallClock()
        response: ProviderResponse | None = None
        error: Exception | None = None
        revoked = False
        attempt_request = request
        left = deadline - monotonic()
        if left < request.timeout_s:
            attempt_request = msgspec.structs.replace(request, timeout_s=max(0.001, left))
        timer = asyncio.timeout(max(0.001, left))
        try:
            clock.start()
            async with timer:
                response = await provider.call(attempt_request, clock)
        except asyncio.CancelledError:
            if not _uncancelled_by_revocation(lease):
                await _release(limiter, lease, None)
                raise
            revoked = True
        except TimeoutError as exc:
            error = (ProviderCallError(ErrorClass.TIMEOUT, f"the {policy.deadline_s:g} s call deadline passed "
                                       "during the attempt") if timer.expired() else exc)
        except Exception as exc:  # noqa: BLE001 - classified below; CancelledError still propagates
            error = exc
        finally:
            if clock.end_ns is None:
                clock.finish()
        await _release(limiter, lease, response)

        if revoked:
            attempt -= 1  # our permit was taken back: the model never had its full say
            log.append(AttemptInfo(attempt=attempt + 1, error_class=str(ErrorClass.LIMITER_ERROR)))
            last = RetryDecision("transient", ErrorClass.LIMITER_ERROR, "permit revoked mid-attempt")
            continue
        if response is not None:
            _report_outcome(limiter, False, clock)
            log.append(AttemptInfo(attempt=attempt, request_id=response.request_id))
            return _finish(CallOutcome(status="ok", response=response, attempts=attempt,
                                       attempt_log=log, streamed=request.stream), clock)

        assert error is not None
        last = _classify(provider, error)
        _report_outcome(limiter, last.kind == "rate_limit", clock)
        info = AttemptInfo(attempt=attempt, error_class=str(last.error_class), status=last.status,
                           request_id=getattr(error, "request_id", None),
                           retry_after_s=last.retry_after_s)
        log.append(info)
        if last.kind == "rate_limit" and last.retry_after_s is not None and last.retry_after_s > 0:
            # every caller of this provider waits, not just us: the server is saying "all of you"
            with contextlib.suppress(Exception):
                await limiter.pause(last.retry_after_s, reason=str(last.error_class))
        if not last.retryable or attempt >= policy.max_attempts:
            break
        delay = backoff_delay_s(policy, attempt, last.retry_after_s, rng)
        if monotonic() + delay > deadline:
            break
        info.waited_s = delay
        await sleep(delay)

    if last is None:
        last = _deadline_decision(None, "no attempt could be made")
    return _finish(CallOutcome(status="error", error_class=str(last.error_class),
                               error_message=last.message, attempts=attempt, attempt_log=log,
                               streamed=request.stream), clock)
