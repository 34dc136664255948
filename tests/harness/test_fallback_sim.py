"""Quota fallback against two simulator models (one with a `quota` fault), real HTTP."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator

import pytest

from harness.fallback import FallbackTarget, call_with_fallback
from harness.local_limiters import UnlimitedLimiter
from harness.providers.openai_compat import OpenAICompatProvider
from harness.providers.openai_responses import OpenAIResponsesProvider
from harness.retry import RetryPolicy
from harness.seam import CallRequest, Message, ProviderAPI
from simulator.config import BrainConfig, FaultRule, SimConfig
from simulator.server import SimThread

POLICY = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02, deadline_s=10)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    with SimThread(SimConfig()) as running:
        yield running


@pytest.fixture
async def api(sim: SimThread) -> AsyncIterator[OpenAICompatProvider]:
    provider = OpenAICompatProvider("sim", sim.url + "/v1", "sk-sim-fallback-01", "SIM_KEY")
    yield provider
    await provider.aclose()


def setup(sim: SimThread, *faults: FaultRule) -> None:
    brain = BrainConfig(ttft_ms=5, itl_ms=1, output_tokens=4)
    sim.configure(SimConfig(models={"primary": brain, "backup": brain, "last": brain}, faults=list(faults),
                            unknown_model_404=True))
    sim.reset()


def target(api: ProviderAPI, model: str) -> FallbackTarget:
    request = CallRequest(model=model, messages=[Message(role="user", content="hi")], timeout_s=5)
    return (api, request, UnlimitedLimiter(), f"sim/{model}")


async def test_quota_falls_back_and_names_the_answering_model(sim: SimThread,
                                                              api: OpenAICompatProvider) -> None:
    setup(sim, FaultRule(kind="quota", rate=1.0, model="primary"))
    outcome, answered = await call_with_fallback(target(api, "primary"), [target(api, "backup")], POLICY,
                                                 "test", rng=random.Random(0))
    assert outcome.status == "ok" and answered == "sim/backup"
    assert [(a.attempt, a.error_class) for a in outcome.attempt_log] == [(1, "quota_exhausted"), (2, None)]
    assert outcome.attempts == 2
    assert [(t.model, t.status) for t in sim.truths()] == [("primary", 429), ("backup", 200)]


async def test_rate_limit_never_falls_back(sim: SimThread, api: OpenAICompatProvider) -> None:
    setup(sim, FaultRule(kind="rate_limit", rate=1.0, model="primary", retry_after_s=0))
    outcome, answered = await call_with_fallback(target(api, "primary"), [target(api, "backup")],
                                                 POLICY.model_copy(update={"max_attempts": 2}), "test")
    assert outcome.error_class == "rate_limited" and answered == "sim/primary"
    assert {t.model for t in sim.truths()} == {"primary"}


async def test_chain_across_apis_and_all_exhausted(sim: SimThread, api: OpenAICompatProvider) -> None:
    responses = OpenAIResponsesProvider("sim", sim.url + "/v1", "sk-sim-fallback-01", "SIM_KEY")
    try:
        setup(sim, FaultRule(kind="quota", rate=1.0, model="primary"),
              FaultRule(kind="quota", rate=1.0, model="backup"))
        chain = [target(api, "backup"), target(responses, "last")]
        outcome, answered = await call_with_fallback(target(api, "primary"), chain, POLICY, "test")
        assert outcome.status == "ok" and answered == "sim/last" and outcome.attempts == 3
        assert sim.truths()[-1].api == "responses"
        setup(sim, FaultRule(kind="quota", rate=1.0))
        outcome, answered = await call_with_fallback(target(api, "primary"), chain, POLICY, "test")
        assert outcome.error_class == "quota_exhausted" and answered == "sim/last" and outcome.attempts == 3
    finally:
        await responses.aclose()


async def test_no_fallback_configured(sim: SimThread, api: OpenAICompatProvider) -> None:
    setup(sim, FaultRule(kind="quota", rate=1.0))
    outcome, answered = await call_with_fallback(target(api, "primary"), [], POLICY, "test")
    assert outcome.error_class == "quota_exhausted" and answered == "sim/primary" and outcome.attempts == 1
