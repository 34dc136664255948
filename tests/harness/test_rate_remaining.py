"""What the server says is left of its rate window reaches adaptive concurrency: read by
the transport from every answer's headers (OpenAI's and Anthropic's names), over real
HTTP to a simulator that counts its window as providers do."""

from __future__ import annotations

import pytest

from harness.limit_contract import ProviderLimits
from harness.local_limiters import LimiterCore
from harness.providers.anthropic_messages import AnthropicProvider
from harness.providers.openai_compat import OpenAICompatProvider
from harness.retry_after import remaining_share
from simulator.config import LimitConfig
from simulator.server import SimThread
from tests.harness.sim_support import call, req, setup


def test_remaining_share_reads_every_window_and_takes_the_smallest() -> None:
    assert remaining_share({}) is None
    assert remaining_share({"x-ratelimit-remaining-requests": "5", "x-ratelimit-limit-requests": "50"}) == 0.1
    both = {"x-ratelimit-remaining-requests": "40", "x-ratelimit-limit-requests": "50",
            "X-RateLimit-Remaining-Tokens": "100", "X-RateLimit-Limit-Tokens": "10000"}
    assert remaining_share(both) == 0.01
    assert remaining_share({"anthropic-ratelimit-requests-remaining": "0",
                            "anthropic-ratelimit-requests-limit": "4"}) == 0.0
    assert remaining_share({"x-ratelimit-remaining-requests": "junk", "x-ratelimit-limit-requests": "5"}) is None


class Spy(LimiterCore):
    """The real in-process limiter, noting what each attempt reported."""

    def __init__(self) -> None:
        super().__init__(ProviderLimits())
        self.reports: list[tuple[bool, bool]] = []

    def outcome(self, *, rate_limited: bool, low_remaining: bool = False) -> None:
        self.reports.append((rate_limited, low_remaining))
        super().outcome(rate_limited=rate_limited, low_remaining=low_remaining)


@pytest.mark.parametrize("wire", ["chat", "messages"])
async def test_a_nearly_used_window_is_reported_as_low(wire: str) -> None:
    with SimThread() as sim:
        setup(sim, limits=LimitConfig(requests_per_window=20, window_s=60))
        api = (OpenAICompatProvider("sim", sim.url + "/v1", "k", "K") if wire == "chat"
               else AnthropicProvider("sim-anthropic", sim.url, "k", "K"))
        spy = Spy()
        try:
            for _ in range(20):
                outcome = await call(api, req(), limiter=spy)
                assert outcome.status == "ok"
        finally:
            await api.aclose()
    lows = [low for _, low in spy.reports]
    # 20 per window: after the 19th request 1/20 = 5 % is left, below the 10 % mark
    assert lows[:17] == [False] * 17 and lows[-2:] == [True, True]
