"""Our SSE reader and the SDK's, over the same aiohttp transport and the same simulator
streams, build the same response: text, tool calls, usage, finish reason, request id, and
the same number of content stamps. The fault behaviour of our reader is the conformance
suite's (its `-aiohttp` rows); the SDK's reader stays the reference it is held to."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import msgspec
import pytest

from harness.providers.anthropic_messages import AnthropicProvider
from harness.providers.openai_compat import OpenAICompatProvider
from harness.providers.openai_responses import OpenAIResponsesProvider
from harness.providers.registry import StreamReader
from harness.providers.sse import _parse_block
from harness.seam import CallRequest, ProviderAPI
from harness.timing import CallClock
from simulator.config import BrainConfig, OutputSpec, SimConfig
from simulator.server import SimThread
from tests.harness.sim_support import req, setup

KEY = "sk-sim-readers-0001"
Make = Callable[[str, StreamReader], ProviderAPI]
ADAPTERS: dict[str, Make] = {
    "chat": lambda url, reader: OpenAICompatProvider("sim", url + "/v1", KEY, "K", stream_reader=reader),
    "responses": lambda url, reader: OpenAIResponsesProvider("sim", url + "/v1", KEY, "K", stream_reader=reader),
    "messages": lambda url, reader: AnthropicProvider("sim", url, KEY, "K", stream_reader=reader),
}
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    with SimThread(SimConfig()) as running:
        yield running


async def _read(make: Make, url: str, reader: StreamReader, request: CallRequest) -> tuple[object, int]:
    api = make(url, reader)
    clock = CallClock()
    clock.start()
    try:
        response = await api.call(request, clock)
    finally:
        await api.aclose()
    return response, len(clock.content_ns)


@pytest.mark.parametrize("api", sorted(ADAPTERS))
@pytest.mark.parametrize("output", ["text", "tool_call", "length"])
async def test_both_readers_build_the_same_response(sim: SimThread, api: str, output: str) -> None:
    brain = BrainConfig(ttft_ms=2, itl_ms=0, output_tokens=40 if output == "length" else 6,
                        output=OutputSpec(kind="tool_call" if output == "tool_call" else "text"))
    setup(sim, brain=brain)
    request = req(tools=[TOOL]) if output == "tool_call" else req()
    if output == "length":
        request = msgspec.structs.replace(request, max_tokens=5)
    ours, ours_stamps = await _read(ADAPTERS[api], sim.url, "sse", request)
    theirs, their_stamps = await _read(ADAPTERS[api], sim.url, "sdk", request)
    first, second = sim.truths()
    assert ours_stamps == their_stamps > 0
    assert ours.request_id == first.request_id and theirs.request_id == second.request_id  # type: ignore[attr-defined]
    for field in ("text", "finish_reason", "input_tokens", "output_tokens", "reasoning_tokens"):
        assert getattr(ours, field) == getattr(theirs, field), field
    ours_calls, their_calls = ours.tool_calls, theirs.tool_calls  # type: ignore[attr-defined]
    assert [c["id"] for c in ours_calls + their_calls] == [c["id"] for c in ours_calls + their_calls if c["id"]]
    assert [{**c, "id": None} for c in ours_calls] == [{**c, "id": None} for c in their_calls]  # ids name the request
    assert bool(ours_calls) == (output == "tool_call")


def test_sse_blocks_by_the_spec() -> None:
    assert _parse_block(b"data: {}") == (b"", b"{}")
    assert _parse_block(b"event: ping\ndata: {\"a\":1}") == (b"ping", b'{"a":1}')
    assert _parse_block(b"data:x\ndata: y") == (b"", b"x\ny")  # one optional space, lines joined
    assert _parse_block(b": a comment") == (b"", None)
