"""The mock's own view of a run: what it served, at what rate at full load, its TTFT.

This is the ground truth both tools are judged by, so one method serves both:

- a request counts as served when the mock wrote its last chunk (`status` "ok");
- full load is the moment the mock first has c requests open at once (or, for a tool
  that never gets there, the most it ever had);
- the full-load window opens when every request open at that moment has ended (each
  stream has turned over once since, so the ramp-up is behind us) and closes at the last
  request's arrival (after it no new work comes in and the streams drain: the ramp-down).
  The plateau rate is the served requests that ended inside that window over its length.

For a closed loop in steady state this is unbiased at both edges: counting from the
first arrival would charge the first wave's latency, or a slow start, as idle time, and
counting up to the last end would charge the drain. Opening at the c-th end instead
fails when streams open slowly (a tool still starting workers): the first streams turn
over several times before the last one opens.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from sidebyside.jsonl import decode_lines


class Served(msgspec.Struct, frozen=True):
    """One request as `mock_probe.py` logged it (epoch seconds)."""

    arrival: float
    end: float
    status: str
    first: float | None = None
    chunks: int = 0
    id: str | None = None  # the completion id the mock streamed, which the tools record too

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def ttft_ms(self) -> float | None:
        return None if self.first is None else (self.first - self.arrival) * 1000.0


class Plateau(msgspec.Struct, frozen=True):
    """The full-load window and what the mock served inside it."""

    start: float
    end: float
    served: int
    mean_in_flight: float

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def rate(self) -> float:
        return self.served / self.seconds


_decoder = msgspec.json.Decoder(Served)


def parse_served(lines: list[bytes]) -> list[Served]:
    """Decode the probe's lines (a torn last line, the server killed mid-write, is dropped)."""
    return decode_lines(lines, _decoder, "served log")


def read_served(path: Path) -> list[Served]:
    if not path.exists():
        return []
    return parse_served(path.read_bytes().splitlines())


def mean_in_flight(records: list[Served], start: float, end: float) -> float:
    """Time-averaged number of requests open at the mock over [start, end] (any status)."""
    if end <= start:
        raise ValueError("empty window")
    overlap = sum(max(0.0, min(r.end, end) - max(r.arrival, start)) for r in records)
    return overlap / (end - start)


def full_load_at(records: list[Served], concurrency: int) -> float | None:
    """The first moment the mock had min(c, the most it ever had) requests open at once.
    At equal times an end is counted before an arrival, so a closed loop's hand-over
    (one stream's end, its next arrival) never looks like c + 1 open."""
    events = sorted([(r.arrival, 1) for r in records] + [(r.end, -1) for r in records])
    level, most = 0, 0
    for _, step in events:
        level += step
        most = max(most, level)
    target = min(concurrency, most)
    if target == 0:
        return None
    level = 0
    for when, step in events:
        level += step
        if level >= target:
            return when
    return None  # unreachable: `most` was reached on the first pass


def plateau(records: list[Served], concurrency: int) -> Plateau | None:
    """The full-load window (see the module docstring); None when the run was too short to
    have one (the last arrival came before the first wave had turned over)."""
    full = full_load_at(records, concurrency)
    if full is None:
        return None
    start = max(r.end for r in records if r.arrival <= full < r.end)
    end = max(r.arrival for r in records)
    if end <= start:
        return None
    served = sum(1 for r in records if r.ok and start < r.end <= end)
    if served == 0:
        return None
    return Plateau(start=start, end=end, served=served, mean_in_flight=mean_in_flight(records, start, end))


def served_span_rate(records: list[Served]) -> float | None:
    """Served requests over the whole span the tool kept the mock busy (first arrival to
    last end): the overall rate, ramps included."""
    ok = [r for r in records if r.ok]
    if not ok:
        return None
    span = max(r.end for r in records) - min(r.arrival for r in records)
    return len(ok) / span if span > 0 else None


def matched_inflation_ms(records: list[Served], tool_ttft_by_id: dict[str, float]) -> list[float]:
    """Per request, the tool's TTFT minus the mock's own, matched by completion id: the
    inflation's own distribution, where a difference of two p50s only compares centres."""
    return [tool_ttft_by_id[r.id] - mock for r in records
            if r.ok and r.id is not None and r.id in tool_ttft_by_id and (mock := r.ttft_ms) is not None]


def mock_ttfts_ms(records: list[Served]) -> list[float]:
    """The mock's own TTFT for every served request (headers read to first token out)."""
    return [t for r in records if r.ok and (t := r.ttft_ms) is not None]
