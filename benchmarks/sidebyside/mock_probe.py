"""Run guidellm's own `mock-server` command, with one JSON line per request it served.

Why a wrapper: the mock logs through Sanic's access log, one line per response written
when its headers go out (together with the first token): the time is stamped to the
second, the elapsed milliseconds count from the parsed headers to that first write, and
there is no end time. That gives neither the rate the mock served at full load nor its
TTFT per request to the millisecond. So this runs the very same click command
(`guidellm mock-server` with the same flags, access log included) in-process after
swapping in a chat-completions handler that stamps, per streamed response:

- `arrival`: when Sanic had read the request headers (its own `perft0`, the same origin
  as its access log's milliseconds);
- `first`: when the first chunk (the first token) was handed to the socket;
- `end`: when the last chunk (`data: [DONE]`) was handed to the socket, or the stream
  broke off (`status` "aborted": the client hung up, as guidellm does at its deadline);
- `id`: the completion id in the first chunk, which both tools record per request
  (guidellm's `response_id`, fleetbench's `request_id`), so their TTFT can be matched
  to the mock's request by request.

Times are epoch seconds from one wall-clock anchor plus `perf_counter` deltas, so they
are monotonic within the run and comparable with the orchestrator's own clock. Usage
(under guidellm's venv; it imports nothing from fleetbench):

    python mock_probe.py --probe-log served.jsonl mock-server --port 8000 --ttft-ms 50 ...
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from guidellm.cli import cli
from guidellm.mock_server import server as mock_server_module
from guidellm.mock_server.handlers import ChatCompletionsHandler
from sanic.response import ResponseStream

_ANCHOR_WALL = time.time()
_ANCHOR_PERF = time.perf_counter()


def _wall(perf: float | None) -> float | None:
    return None if perf is None else _ANCHOR_WALL + (perf - _ANCHOR_PERF)


class _TimedStream:
    """Stands in for Sanic's stream object: the mock's generator only ever calls `write`."""

    __slots__ = ("_inner", "chunks", "first", "id")

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.first: float | None = None
        self.id: str | None = None
        self.chunks = 0

    async def write(self, message: str) -> None:
        await self._inner.write(message)
        if self.first is None:
            self.first = time.perf_counter()
            self.id = _completion_id(message)
        self.chunks += 1


def _completion_id(chunk: str) -> str | None:
    """The `"id"` of the mock's first SSE chunk (`json.dumps` spacing), by string search:
    cheaper than decoding JSON inside the server being measured."""
    start = chunk.find(_ID_KEY)
    if start < 0:
        return None
    start += len(_ID_KEY)
    end = chunk.find('"', start)
    return chunk[start:end] if end > start else None


_ID_KEY = '"id": "'


def probed_handler(log: TextIO) -> type[ChatCompletionsHandler]:
    """The mock's chat handler, unchanged, with each streamed response timed into `log`
    (line-buffered: one write per request, and nothing lost when the server is stopped)."""

    def record(arrival: float, first: float | None, status: str, chunks: int, completion_id: str | None) -> None:
        log.write(json.dumps({"arrival": _wall(arrival), "first": _wall(first), "end": _wall(time.perf_counter()),
                              "status": status, "chunks": chunks, "id": completion_id}) + "\n")

    class ProbedChatCompletionsHandler(ChatCompletionsHandler):  # type: ignore[misc]
        async def handle(self, request: Any) -> Any:
            arrival = getattr(request.stream, "perft0", None) or time.perf_counter()
            response = await super().handle(request)
            if not isinstance(response, ResponseStream):
                record(arrival, None, "ok" if response.status == 200 else f"http-{response.status}", 1, None)
                return response
            generate = response.streaming_fn

            async def timed(stream: Any) -> None:
                timed_stream = _TimedStream(stream)
                status = "aborted"
                try:
                    await generate(timed_stream)
                    status = "ok"
                finally:
                    record(arrival, timed_stream.first, status, timed_stream.chunks, timed_stream.id)

            response.streaming_fn = timed
            return response

    return ProbedChatCompletionsHandler


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[0] != "--probe-log":
        raise SystemExit("usage: mock_probe.py --probe-log PATH mock-server [guidellm mock-server flags]")
    log = open(argv[1], "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - open for the server's life
    mock_server_module.ChatCompletionsHandler = probed_handler(log)
    cli(args=argv[2:], prog_name="guidellm")


if __name__ == "__main__":
    main(sys.argv[1:])
