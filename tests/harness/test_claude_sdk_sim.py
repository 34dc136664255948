"""The Claude Agent SDK's bundled CLI over real HTTP against the simulator's Anthropic wire.

Slow: every call spawns the Claude Code CLI (~0.5 s each).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from harness.call import CallOutcome
from harness.providers.claude_sdk import ClaudeAgentSDKProvider, render_prompt
from harness.seam import CallRequest, Message
from harness.timing import CallClock
from simulator.config import BrainConfig, FaultRule, OutputSpec, SimConfig
from simulator.server import SimThread
from tests.harness.sim_support import FAST
from tests.harness.sim_support import call as sim_call
from tests.harness.sim_support import setup as sim_setup

pytestmark = pytest.mark.slow

KEY = "sk-ant-sim-sdk-key-0001"
ENV = "SIM_CLAUDE_API_KEY"
MODEL = "claude-haiku-4-5"
TEXT = "The quick brown fox jumps over the lazy dog."
BRAIN = BrainConfig(ttft_ms=40, itl_ms=3, output_tokens=8, output=OutputSpec(text=TEXT))


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    with SimThread(SimConfig()) as running:
        yield running


def setup(sim: SimThread, **cfg: object) -> None:
    sim_setup(sim, BRAIN, **cfg)


@pytest.fixture
async def provider(sim: SimThread) -> AsyncIterator[ClaudeAgentSDKProvider]:
    api = ClaudeAgentSDKProvider("sim-claude-sdk", sim.url, KEY, ENV)
    yield api
    await api.aclose()


def req(timeout_s: float = 10.0) -> CallRequest:
    return CallRequest(model=MODEL, messages=[Message(role="system", content="Answer briefly."),
                                              Message(role="user", content="hello there")],
                       max_tokens=64, timeout_s=timeout_s)


async def call(api: ClaudeAgentSDKProvider, request: CallRequest, attempts: int = 1) -> CallOutcome:
    return await sim_call(api, request, FAST.model_copy(update={"max_attempts": attempts}))


async def test_success_through_the_cli(sim: SimThread, provider: ClaudeAgentSDKProvider) -> None:
    setup(sim)
    await provider.warm_up()
    clock = CallClock()
    clock.start()
    response = await provider.call(req(), clock)
    (truth,) = sim.truths()  # one streaming POST /v1/messages, nothing else generated
    assert truth.api == "anthropic" and truth.stream and truth.model == MODEL and truth.status == 200
    assert response.text == TEXT and response.finish_reason == "end_turn"
    assert response.request_id == "msg_" + truth.request_id.replace("-", "_")
    assert response.input_tokens == truth.input_tokens and response.output_tokens == truth.output_tokens
    assert response.turns == 1 and response.cost_usd is not None and response.cost_usd > 0
    assert clock.ttft_ms is not None and truth.ttft_ms is not None and clock.ttft_ms >= truth.ttft_ms
    assert clock.first_byte_ns is not None and clock.first_byte_ns <= clock.content_ns[0]
    assert len(clock.content_ns) >= 2  # token-level: partial messages were streamed
    assert clock.e2e_ms is not None and clock.e2e_ms >= clock.ttft_ms


async def test_overloaded_is_transient_and_retried_by_us_only(
        sim: SimThread, provider: ClaudeAgentSDKProvider) -> None:
    setup(sim, faults=[FaultRule(kind="overloaded", at=[1])])
    outcome = await call(provider, req(), attempts=2)
    assert outcome.status == "ok" and outcome.attempts == 2
    first = outcome.attempt_log[0]
    assert first.error_class == "overloaded" and first.status == 529
    assert [t.status for t in sim.truths()] == [529, 200]  # the CLI did not retry on its own


async def test_wrong_key_is_auth_and_never_leaks_the_key(sim: SimThread) -> None:
    setup(sim, api_keys=["sk-ant-right"])
    wrong = "sk-ant-wrong-key-0123456789"
    api = ClaudeAgentSDKProvider("sim-claude-sdk", sim.url, wrong, ENV)
    try:
        outcome = await call(api, req(), attempts=3)
    finally:
        await api.aclose()
    assert outcome.status == "error" and outcome.error_class == "auth" and outcome.attempts == 1
    assert outcome.error_message is not None and f"${ENV}" in outcome.error_message
    assert wrong not in outcome.error_message and "0123456789" not in outcome.error_message
    assert len(sim.truths()) == 1 and sim.truths()[0].status == 401


async def test_quota_is_not_retried(sim: SimThread, provider: ClaudeAgentSDKProvider) -> None:
    setup(sim, faults=[FaultRule(kind="quota", rate=1.0)])
    outcome = await call(provider, req(), attempts=3)
    assert outcome.status == "error" and outcome.error_class == "quota_exhausted"
    assert outcome.attempts == 1 and len(sim.truths()) == 1


async def test_hang_times_out_via_the_cli(sim: SimThread, provider: ClaudeAgentSDKProvider) -> None:
    setup(sim, faults=[FaultRule(kind="hang", rate=1.0, hang_s=30)])
    t0 = time.monotonic()
    outcome = await call(provider, req(timeout_s=0.5))
    assert outcome.status == "error" and outcome.error_class == "timeout"
    assert time.monotonic() - t0 < 5.0  # the CLI's own timeout fired, not our backstop
    assert len(sim.truths()) == 1


async def test_aclose_removes_the_isolated_home(sim: SimThread) -> None:
    api = ClaudeAgentSDKProvider("sim-claude-sdk", sim.url, KEY, ENV)
    home = Path(str(api.options(req(), []).cwd))
    assert home.is_dir()
    await api.aclose()
    assert not home.exists()


def test_prompt_rendering() -> None:
    assert render_prompt([Message(role="system", content="s"), Message(role="user", content="hi")]) == "hi"
    assert render_prompt([Message(role="user", content="a"), Message(role="assistant", content="b"),
                          Message(role="user", content="c")]) == "User: a\n\nAssistant: b\n\nUser: c"


@pytest.mark.parametrize("kind, error_class", [
    ("rate_limit", "rate_limited"),
    ("server_error", "server_error"),
    ("stream_cut", "stream_broken"),
    ("malformed", "malformed_response"),
])
async def test_transient_faults_through_the_cli_are_classified_and_retried_by_us(
        sim: SimThread, provider: ClaudeAgentSDKProvider, kind: str, error_class: str) -> None:
    setup(sim, faults=[FaultRule(kind=kind, rate=1.0, retry_after_s=0.2)])  # type: ignore[arg-type]
    outcome = await call(provider, req(), attempts=2)
    assert outcome.status == "error" and outcome.error_class == error_class
    # two attempts, two requests: we retried, the CLI's own retries are off
    assert outcome.attempts == 2 and len(sim.truths()) == 2


async def test_prompt_over_the_context_window_is_not_retried(sim: SimThread,
                                                             provider: ClaudeAgentSDKProvider) -> None:
    sim.configure(SimConfig(default_brain=BrainConfig(ttft_ms=5, itl_ms=1, output_tokens=3, context_window=50)))
    sim.reset()
    outcome = await call(provider, req(), attempts=3)
    assert outcome.error_class == "context_overflow" and outcome.attempts == 1
