"""execute_call with a scripted fake provider: retries, waits, pauses, deadline, timing."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

import pytest

from harness.call import CallOutcome, estimate_tokens, execute_call
from harness.errors import ErrorClass, ProviderCallError, RetryDecision, RetryKind
from harness.limit_contract import Lease, ProviderLimits
from harness.local_limiters import LimiterCore
from harness.retry import RetryPolicy
from harness.seam import CallRequest, Capabilities, Message, ProviderAPI, ProviderResponse
from harness.timing import CallClock

REQUEST = CallRequest(model="m", messages=[Message(role="user", content="x" * 40)], max_tokens=10)
Step = ProviderResponse | Exception


def ok(text: str = "hi") -> ProviderResponse:
    return ProviderResponse(text=text, finish_reason="stop", input_tokens=3, output_tokens=4,
                            request_id="req-ok")


def err(cls: ErrorClass, retry_after: float | None = None, status: int | None = None) -> ProviderCallError:
    return ProviderCallError(cls, f"{cls} happened", retry_after_s=retry_after, status=status)


class FakeProvider(ProviderAPI):
    provider = "fake"

    def __init__(self, steps: Sequence[Step], call_s: float = 0.0) -> None:
        self.steps = list(steps)
        self.calls = 0
        self.call_s = call_s

    async def call(self, request: CallRequest, clock: CallClock) -> ProviderResponse:
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        if self.call_s:
            await asyncio.sleep(self.call_s)
        if isinstance(step, Exception):
            raise step
        clock.mark_first_byte()
        for _ in range(3):
            clock.mark_content()
        clock.finish()
        return step

    def classify(self, error: BaseException) -> RetryDecision:
        if isinstance(error, ProviderCallError):
            cls = error.error_class
            kind: RetryKind = ("rate_limit" if cls == ErrorClass.RATE_LIMITED
                    else "no" if cls in (ErrorClass.QUOTA_EXHAUSTED, ErrorClass.AUTH) else "transient")
            return RetryDecision(kind, cls, str(error), error.retry_after_s, error.status)
        raise RuntimeError("classifier bug")

    def capabilities(self, model: str) -> Capabilities:
        return Capabilities()

    def connection_key(self) -> str:
        return "fake:nokey"


class RecordingLimiter:
    """A LimiterCore that records what the call path asked of it."""

    def __init__(self, limits: ProviderLimits | None = None, acquire_delay_s: float = 0.0) -> None:
        self.core = LimiterCore(limits or ProviderLimits())
        self.lease_ttl_s = self.core.lease_ttl_s
        self.acquired: list[int] = []
        self.released: list[int | None] = []
        self.renewed = 0
        self.pauses: list[float] = []
        self.acquire_delay_s = acquire_delay_s
        self.acquire_failures = 0
        self.release_fails = False

    async def acquire(self, holder: str, tokens: int = 0, *, timeout_s: float | None = None) -> Lease:
        if self.acquire_delay_s:
            await asyncio.sleep(self.acquire_delay_s)
        if self.acquire_failures:
            self.acquire_failures -= 1
            raise RuntimeError("limiter actor died")
        self.acquired.append(tokens)
        return await self.core.acquire(holder, tokens, timeout_s=timeout_s)

    async def release(self, lease_id: str, tokens_used: int | None = None) -> None:
        self.released.append(tokens_used)
        await self.core.release(lease_id, tokens_used)
        if self.release_fails:
            raise RuntimeError("limiter actor died during release")

    async def renew(self, lease_id: str) -> bool:
        self.renewed += 1
        return await self.core.renew(lease_id)

    async def pause(self, seconds: float, reason: str = "") -> None:
        self.pauses.append(seconds)


class FakeTime:
    """Injected sleep + monotonic: sleeping advances the clock instantly."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


async def run(provider: FakeProvider, limiter: RecordingLimiter | None = None,
              policy: RetryPolicy | None = None, seed: int = 0) -> tuple[CallOutcome, RecordingLimiter, FakeTime]:
    limiter = limiter or RecordingLimiter()
    fake = FakeTime()
    outcome = await execute_call(provider, REQUEST, limiter, policy or RetryPolicy(), holder="t",
                                 rng=random.Random(seed), sleep=fake.sleep, monotonic=fake.monotonic)
    return outcome, limiter, fake


async def test_success_first_try() -> None:
    outcome, limiter, fake = await run(FakeProvider([ok()]))
    assert outcome.status == "ok" and outcome.attempts == 1 and outcome.response is not None
    assert outcome.response.text == "hi"
    assert outcome.error_class is None and fake.sleeps == []
    assert limiter.acquired == [estimate_tokens(REQUEST)] == [40 // 4 + 10]
    assert limiter.released == [7]  # actual usage corrects the estimate
    assert outcome.ttfb_ms is not None and outcome.ttft_ms is not None and outcome.e2e_ms is not None
    assert outcome.itl_p50_ms is not None and outcome.itl_p95_ms is not None
    assert outcome.attempt_log[0].request_id == "req-ok"
    assert limiter.core.stats()["in_flight"] == 0


async def test_transient_errors_are_retried() -> None:
    provider = FakeProvider([err(ErrorClass.SERVER_ERROR, status=500), err(ErrorClass.STREAM_BROKEN), ok()])
    outcome, limiter, fake = await run(provider)
    assert outcome.status == "ok" and outcome.attempts == 3 and provider.calls == 3
    assert [a.error_class for a in outcome.attempt_log] == ["server_error", "stream_broken", None]
    assert outcome.attempt_log[0].status == 500
    assert len(fake.sleeps) == 2 and [a.waited_s for a in outcome.attempt_log[:2]] == fake.sleeps
    assert len(limiter.acquired) == len(limiter.released) == 3
    assert limiter.released[:2] == [None, None]  # failed attempts keep the estimate


@pytest.mark.parametrize("cls", [ErrorClass.QUOTA_EXHAUSTED, ErrorClass.AUTH])
async def test_non_retryable_errors_stop_at_once(cls: ErrorClass) -> None:
    provider = FakeProvider([err(cls, status=429), ok()])
    outcome, limiter, fake = await run(provider)
    assert outcome.status == "error" and outcome.attempts == 1 and provider.calls == 1
    assert outcome.error_class == str(cls) and outcome.error_message
    assert fake.sleeps == [] and limiter.pauses == []


@pytest.mark.parametrize("seed", range(20))
async def test_rate_limit_waits_at_least_retry_after_and_pauses_provider(seed: int) -> None:
    provider = FakeProvider([err(ErrorClass.RATE_LIMITED, retry_after=5.0, status=429), ok()])
    outcome, limiter, fake = await run(provider, seed=seed)
    assert outcome.status == "ok" and outcome.attempts == 2
    assert limiter.pauses == [5.0]
    assert fake.sleeps[0] >= 5.0
    first = outcome.attempt_log[0]
    assert first.retry_after_s == 5.0 and first.waited_s >= 5.0 and first.error_class == "rate_limited"


async def test_deadline_stops_a_retry_that_would_pass_it() -> None:
    provider = FakeProvider([err(ErrorClass.RATE_LIMITED, retry_after=30.0, status=429), ok()])
    outcome, limiter, fake = await run(provider, policy=RetryPolicy(deadline_s=10))
    assert outcome.status == "error" and outcome.attempts == 1
    assert outcome.error_class == "rate_limited" and fake.sleeps == []
    assert limiter.pauses == [30.0]  # others still learn the server's ask


async def test_deadline_counts_earlier_waits() -> None:
    provider = FakeProvider([err(ErrorClass.SERVER_ERROR)])
    policy = RetryPolicy(max_attempts=100, base_delay_s=1.0, max_delay_s=4.0, deadline_s=20)
    outcome, _, fake = await run(provider, policy=policy)
    assert outcome.status == "error" and outcome.error_class == "server_error"
    assert sum(fake.sleeps) <= 20 and outcome.attempts < 100
    assert outcome.attempts == len(fake.sleeps) + 1


async def test_attempts_exhausted() -> None:
    provider = FakeProvider([err(ErrorClass.TIMEOUT)])
    outcome, _, fake = await run(provider, policy=RetryPolicy(max_attempts=3))
    assert outcome.status == "error" and outcome.attempts == 3 and provider.calls == 3
    assert outcome.error_class == "timeout" and len(fake.sleeps) == 2
    assert outcome.attempt_log[-1].waited_s == 0.0


async def test_classifier_crash_is_an_outcome_not_an_exception() -> None:
    outcome, _, _ = await run(FakeProvider([ValueError("weird")]))
    assert outcome.status == "error" and outcome.error_class == "unknown" and outcome.attempts == 1


async def test_error_message_is_redacted() -> None:
    provider = FakeProvider([ProviderCallError(ErrorClass.AUTH, "bad key sk-abcdefghijklmnop given")])
    outcome, _, _ = await run(provider)
    assert outcome.error_message is not None
    assert "sk-abcdefghijklmnop" not in outcome.error_message and "***" in outcome.error_message


async def test_limiter_wait_is_not_in_ttft() -> None:
    limiter = RecordingLimiter(acquire_delay_s=0.15)
    outcome, _, _ = await run(FakeProvider([ok()]), limiter=limiter)
    assert outcome.ttft_ms is not None and outcome.ttft_ms < 100


async def test_long_attempt_keeps_its_permit_through_heartbeats() -> None:
    limiter = RecordingLimiter(ProviderLimits(max_concurrent=1, lease_ttl_s=0.06))
    outcome, _, _ = await run(FakeProvider([ok()], call_s=0.15), limiter=limiter)
    assert outcome.status == "ok" and outcome.attempts == 1
    assert limiter.core.revoked_total == 0
    assert limiter.core.pool_stats()["reclaimed_clients"] == 0


async def test_a_revoked_permit_interrupts_the_attempt_which_is_made_again() -> None:
    limiter = RecordingLimiter(ProviderLimits(max_concurrent=2))
    provider = FakeProvider([ok()], call_s=0.3)
    task = asyncio.create_task(execute_call(provider, REQUEST, limiter, RetryPolicy(), holder="t"))
    for _ in range(200):
        await asyncio.sleep(0.01)
        if limiter.core.stats()["in_flight"] == 1:
            break
    limiter.core._revoke(1)  # what a lapsed heartbeat or a pool that lost us does
    outcome = await task
    assert outcome.status == "ok" and provider.calls == 2
    assert outcome.attempts == 1  # the interrupted attempt is ours, not the model's
    assert [a.error_class for a in outcome.attempt_log] == ["limiter_error", None]
    assert limiter.core.stats()["in_flight"] == 0 and len(limiter.acquired) == 2


async def test_a_failing_limiter_is_retried_never_raised() -> None:
    limiter = RecordingLimiter()
    limiter.acquire_failures = 2
    outcome, _, fake = await run(FakeProvider([ok()]), limiter=limiter)
    assert outcome.status == "ok" and outcome.attempts == 1 and len(fake.sleeps) == 2


async def test_a_failed_release_never_discards_a_success() -> None:
    limiter = RecordingLimiter()
    limiter.release_fails = True
    outcome, _, _ = await run(FakeProvider([ok()]), limiter=limiter)
    assert outcome.status == "ok" and outcome.response is not None and outcome.response.text == "hi"


async def test_deadline_bounds_the_limiter_wait() -> None:
    limiter = RecordingLimiter(ProviderLimits(max_concurrent=1))
    blocker = await limiter.core.acquire("other")
    outcome = await execute_call(FakeProvider([ok()]), REQUEST, limiter, RetryPolicy(deadline_s=0.2), holder="t")
    assert outcome.status == "error" and outcome.error_class == "limiter_error" and outcome.attempts == 0
    assert "limiter" in (outcome.error_message or "")
    await limiter.core.release(blocker.lease_id)


async def test_deadline_bounds_a_running_attempt() -> None:
    limiter = RecordingLimiter()
    provider = FakeProvider([ok()], call_s=30)
    outcome = await execute_call(provider, REQUEST, limiter, RetryPolicy(deadline_s=0.2), holder="t")
    assert outcome.status == "error" and outcome.error_class == "timeout" and outcome.attempts == 1
    assert "deadline" in (outcome.error_message or "")
    assert limiter.released == [None]


async def test_cancellation_propagates_and_releases_the_lease() -> None:
    limiter = RecordingLimiter(ProviderLimits(max_concurrent=1))
    task = asyncio.create_task(execute_call(FakeProvider([ok()], call_s=5), REQUEST, limiter,
                                            RetryPolicy(), holder="t"))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert limiter.core.stats()["in_flight"] == 0 and limiter.released == [None]
