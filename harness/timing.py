"""Call timing from one monotonic clock.

Why one clock: TTFT, inter-token gaps and E2E are differences of `time.monotonic_ns()`
readings, which on Linux is CLOCK_MONOTONIC and so comparable with the simulator's
ground truth taken in another process on the same machine.
"""

from __future__ import annotations

import itertools
import time

import msgspec


def now_ns() -> int:
    return time.monotonic_ns()


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100); None for no data. p50/p95, not means."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


class CallClock:
    """Marks the moments of one attempt. Adapters call `mark_*`; the call path reads results.

    `start_ns` is taken immediately before the request is handed to the SDK, after any
    limiter wait, so queueing never inflates TTFT.
    """

    __slots__ = ("content_ns", "end_ns", "first_byte_ns", "first_content_ns", "first_reasoning_ns",
                 "rate_remaining", "reasoning_end_ns", "reasoning_start_ns", "sent_ns", "start_ns")

    def __init__(self) -> None:
        self.start_ns: int = 0
        self.sent_ns: int | None = None
        self.first_byte_ns: int | None = None
        self.first_content_ns: int | None = None
        self.content_ns: list[int] = []
        self.end_ns: int | None = None
        # reasoning models: the reasoning's start and end as the stream shows them (an item or
        # block opened and closed), and its first streamed token (None when it is hidden)
        self.reasoning_start_ns: int | None = None
        self.first_reasoning_ns: int | None = None
        self.reasoning_end_ns: int | None = None
        # the smallest share left of any rate window the server's headers reported (None:
        # it said nothing); low shares hold adaptive concurrency back before any 429
        self.rate_remaining: float | None = None

    def start(self) -> None:
        self.start_ns = now_ns()

    def mark_sent(self) -> None:
        """The transport is handing the request to the socket (trace hook). The first stamp
        wins, so it is a lower bound of the real send: latencies measured from it may carry
        a little client delay but never undercut the server's own timing."""
        if self.sent_ns is None:
            self.sent_ns = now_ns()

    def mark_first_byte(self) -> None:
        """Any byte of the response (headers or a role-only chunk): time to first byte."""
        if self.first_byte_ns is None:
            self.first_byte_ns = now_ns()

    def mark_content(self) -> None:
        """A chunk carrying model text (not a role-only or empty chunk)."""
        t = now_ns()
        if self.first_byte_ns is None:
            self.first_byte_ns = t
        if self.first_content_ns is None:
            self.first_content_ns = t
        self.content_ns.append(t)

    def mark_reasoning_start(self) -> None:
        """The stream opened the model's reasoning (a reasoning item, a thinking block)."""
        t = now_ns()
        if self.first_byte_ns is None:
            self.first_byte_ns = t
        if self.reasoning_start_ns is None:
            self.reasoning_start_ns = t

    def mark_reasoning(self) -> None:
        """A chunk of reasoning text (a thinking or reasoning-text delta): a token, not content."""
        self.mark_reasoning_start()
        if self.first_reasoning_ns is None:
            self.first_reasoning_ns = now_ns()

    def mark_reasoning_end(self) -> None:
        """The stream closed the reasoning (the last close wins: a model may reason twice)."""
        if self.reasoning_start_ns is not None:
            self.reasoning_end_ns = now_ns()

    def finish(self) -> None:
        self.end_ns = now_ns()

    @property
    def origin_ns(self) -> int:
        """Latencies count from the send when the transport reported it, else from start."""
        return self.sent_ns if self.sent_ns is not None else self.start_ns

    @property
    def client_overhead_ms(self) -> float | None:
        """Our own queueing before the request hit the wire (SDK work, busy event loop)."""
        return None if self.sent_ns is None else (self.sent_ns - self.start_ns) / 1e6

    def _ms(self, t: int | None) -> float | None:
        return None if t is None else (t - self.origin_ns) / 1e6

    @property
    def ttfb_ms(self) -> float | None:
        return self._ms(self.first_byte_ns)

    @property
    def ttft_ms(self) -> float | None:
        return self._ms(self.first_content_ns)

    @property
    def e2e_ms(self) -> float | None:
        return self._ms(self.end_ns)

    @property
    def first_token_ms(self) -> float | None:
        """The first token of any kind, reasoning or answer."""
        firsts = [t for t in (self.first_reasoning_ns, self.first_content_ns) if t is not None]
        return self._ms(min(firsts)) if firsts else None

    @property
    def reasoning_ms(self) -> float | None:
        """How long the stream showed the model reasoning: from opening the reasoning to
        closing it (or, never closed, to the first answer token or the end)."""
        if self.reasoning_start_ns is None:
            return None
        end = self.reasoning_end_ns or self.first_content_ns or self.end_ns
        return None if end is None else (end - self.reasoning_start_ns) / 1e6

    def inter_token_gaps_ms(self) -> list[float]:
        """Gaps between consecutive content chunks. Excludes TTFT (llmperf's mistake)."""
        ts = self.content_ns
        return [(b - a) / 1e6 for a, b in itertools.pairwise(ts)]


class CallTiming(msgspec.Struct, kw_only=True):
    """The timing of a call's last attempt, in ms, declared once for the call's outcome and
    its archived record (both inherit it).

    Why inheritance and not a nested struct: msgspec keeps an inherited struct's fields
    flat, so a record's JSON line has the same top-level keys as before and every reader
    of the archive keeps working; and the outcome-to-record copy is one call
    (`copy_timing`) instead of a field list to keep in step by hand.
    """

    ttfb_ms: float | None = None
    ttft_ms: float | None = None  # the first answer token (text or tool-call arguments)
    e2e_ms: float | None = None
    itl_p50_ms: float | None = None
    itl_p95_ms: float | None = None
    client_overhead_ms: float | None = None
    # Reasoning models: the first token of any kind (a reasoning token, else the answer's:
    # equal to `ttft_ms` when no reasoning is streamed), and how long the stream showed the
    # model reasoning (None without reasoning). Reasoning tokens are the record's
    # `reasoning_tokens`, from the provider's usage.
    first_token_ms: float | None = None
    reasoning_ms: float | None = None

    def fill_from(self, clock: CallClock) -> None:
        """Take the timing of the attempt `clock` measured (None for moments not reached)."""
        gaps = clock.inter_token_gaps_ms()
        self.ttfb_ms = clock.ttfb_ms if clock.first_byte_ns is not None else None
        self.ttft_ms = clock.ttft_ms if clock.first_content_ns is not None else None
        self.e2e_ms = clock.e2e_ms if clock.end_ns is not None else None
        self.itl_p50_ms = percentile(gaps, 50)
        self.itl_p95_ms = percentile(gaps, 95)
        self.client_overhead_ms = clock.client_overhead_ms
        self.first_token_ms = clock.first_token_ms
        self.reasoning_ms = clock.reasoning_ms


TIMING_FIELDS: tuple[str, ...] = CallTiming.__struct_fields__


def copy_timing(source: CallTiming, target: CallTiming) -> None:
    """Every timing field of `source` onto `target` (an outcome onto its record)."""
    for name in TIMING_FIELDS:
        setattr(target, name, getattr(source, name))
