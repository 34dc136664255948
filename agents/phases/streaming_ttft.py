"""`streaming-ttft`: the suite streamed on every model, to tell "slow to start" from "slow
throughout".

Why both TTFT and inter-token latency, and their correlation with E2E: a user waiting on a
chat answer feels TTFT, a batch job feels E2E, and the two fail differently. A model whose
wait is mostly before the first token (queueing, prompt processing, hidden reasoning) is a
different problem from one that starts quickly and then trickles; the Pearson r of TTFT
against E2E says which part drives the total for that model.

Labels follow a stated rule, printed under the table:
- "slow to start": TTFT p50 > 0.5 x E2E p50 (most of the wait is before the first token);
- "slow throughout": TPOT p50 > 50 ms, where a call's TPOT (time per output token) is
  (E2E - TTFT) / (output tokens - 1);
- "fast" otherwise. Both slow labels can apply.

Why TPOT and not the inter-token gap for the rule: a busy server (or a busy client) often
delivers tokens in bursts, two or three chunks in one read. The gaps inside a burst are
near zero, so the median gap can read 0.2 ms for a model that decodes at 11 ms per token;
TPOT spreads the whole decoding time over the tokens and cannot be fooled by bursts. The
gap median (ITL p50) is still shown: far below TPOT, it says the stream arrives in bursts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec

from agents.phases.base import PlanContext
from agents.phases.baseline import BaselinePhase
from agents.plan import WorkItem
from archive.latency import Latencies
from archive.mergeable import Comoments, merge_keyed
from archive.section_state import RecordView
from harness.records import CallRecord

START_SHARE = 0.5  # "slow to start" when TTFT p50 exceeds this share of E2E p50
TPOT_SLOW_MS = 50.0  # "slow throughout" when TPOT p50 exceeds this
PLOT_NAME = "ttft_distribution.png"


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson r; None with fewer than 3 pairs or no variance (r is undefined, not 0)."""
    if len(xs) != len(ys):
        return None
    moments = Comoments()
    for x, y in zip(xs, ys, strict=True):
        moments.add(x, y)
    return moments.r


def tpot_ms(record: RecordView) -> float | None:
    """Time per output token after the first: (E2E - TTFT) / (output tokens - 1); None
    without both times or with fewer than two tokens (there is no decoding to time)."""
    tokens = record.output_tokens
    if record.ttft_ms is None or record.e2e_ms is None or tokens is None or tokens < 2:
        return None
    return max(record.e2e_ms - record.ttft_ms, 0.0) / (tokens - 1)


def labels(ttft_p50: float | None, e2e_p50: float | None, tpot_p50: float | None) -> list[str]:
    """The stated rule (module docstring); "n/a" when there is no timing at all."""
    out: list[str] = []
    if ttft_p50 is not None and e2e_p50 is not None and ttft_p50 > START_SHARE * e2e_p50:
        out.append("slow to start")
    if tpot_p50 is not None and tpot_p50 > TPOT_SLOW_MS:
        out.append("slow throughout")
    if not out:
        out.append("fast" if ttft_p50 is not None or tpot_p50 is not None else "n/a")
    return out


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


class _ModelTimes:
    """One model's streamed calls: counts, the ok calls' times and the TTFT/E2E pairs."""

    __slots__ = ("calls", "e2e", "first_token", "itl", "ok", "pairs", "reasoning", "tpot", "ttft")

    def __init__(self) -> None:
        self.calls = self.ok = 0
        self.ttft, self.e2e, self.itl, self.tpot = Latencies(), Latencies(), Latencies(), Latencies()
        self.first_token, self.reasoning = Latencies(), Latencies()
        self.pairs = Comoments()

    def merge(self, other: _ModelTimes) -> None:
        self.calls += other.calls
        self.ok += other.ok
        for mine, theirs in ((self.ttft, other.ttft), (self.e2e, other.e2e), (self.itl, other.itl),
                             (self.tpot, other.tpot), (self.first_token, other.first_token),
                             (self.reasoning, other.reasoning)):
            mine.merge(theirs)
        self.pairs.merge(other.pairs)


class _ModelTimesData(msgspec.Struct, array_like=True):
    """A model's cached form."""

    model: str
    calls: int
    ok: int
    ttft: dict[str, bytes]
    e2e: dict[str, bytes]
    itl: dict[str, bytes]
    tpot: dict[str, bytes]
    first_token: dict[str, bytes]
    reasoning: dict[str, bytes]
    pairs: list[float]


class StreamingSection:
    """Per model: TTFT, ITL, TPOT and E2E percentiles over ok calls, r of TTFT vs E2E, labels."""

    def __init__(self, data: object = None) -> None:
        self.models: dict[str, _ModelTimes] = {}
        for d in msgspec.convert(data, list[_ModelTimesData]) if data is not None else []:
            m = self.models[d.model] = _ModelTimes()
            m.calls, m.ok, m.pairs = d.calls, d.ok, Comoments.from_builtins(d.pairs)
            m.ttft, m.e2e = Latencies.from_builtins(d.ttft), Latencies.from_builtins(d.e2e)
            m.itl, m.tpot = Latencies.from_builtins(d.itl), Latencies.from_builtins(d.tpot)
            m.first_token, m.reasoning = Latencies.from_builtins(d.first_token), Latencies.from_builtins(d.reasoning)

    def add(self, record: RecordView) -> None:
        m = self.models.get(record.model)
        if m is None:
            m = self.models[record.model] = _ModelTimes()
        m.calls += 1
        if record.status != "ok":
            return
        m.ok += 1
        ttft, e2e = record.ttft_ms, record.e2e_ms
        if ttft is not None:
            m.ttft.add(ttft)
        if e2e is not None:
            m.e2e.add(e2e)
            if ttft is not None:
                m.pairs.add(ttft, e2e)
        if record.first_token_ms is not None:
            m.first_token.add(record.first_token_ms)
        if record.reasoning_ms is not None:
            m.reasoning.add(record.reasoning_ms)
        if record.itl_p50_ms is not None:
            m.itl.add(record.itl_p50_ms)
        if (tpot := tpot_ms(record)) is not None:
            m.tpot.add(tpot)

    def merge(self, other: StreamingSection) -> None:
        merge_keyed(self.models, other.models, _ModelTimes)

    def model_rows(self) -> dict[str, dict[str, object]]:
        """Per model (sorted): calls, ok, TTFT p50/p95, first-token and reasoning p50, ITL p50,
        TPOT p50, E2E p50, pairs, r, labels."""
        out: dict[str, dict[str, object]] = {}
        for model, m in sorted(self.models.items()):
            ttft_p50, ttft_p95 = m.ttft.percentiles(50, 95)
            e2e_p50, tpot_p50 = m.e2e.percentile(50), m.tpot.percentile(50)
            out[model] = {
                "calls": m.calls, "ok": m.ok, "ttft_p50": ttft_p50, "ttft_p95": ttft_p95,
                "first_token_p50": m.first_token.percentile(50), "reasoning_p50": m.reasoning.percentile(50),
                "itl_p50": m.itl.percentile(50), "tpot_p50": tpot_p50, "e2e_p50": e2e_p50, "pairs": m.pairs.n,
                "r": m.pairs.r, "labels": labels(ttft_p50, e2e_p50, tpot_p50),
            }
        return out

    def render(self) -> str | None:
        stats = self.model_rows()
        if not stats:
            return None
        lines = [("| model | calls | ok | TTFT p50 | TTFT p95 | first token p50 | reasoning p50 | ITL p50 "
                  "| TPOT p50 | E2E p50 | TTFT~E2E (n, r) | label |"),
                 "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for model, s in stats.items():
            r = s["r"]
            corr = f"({s['pairs']}, {r:.2f})" if isinstance(r, float) else f"({s['pairs']}, n/a)"
            lines.append(
                f"| {model} | {s['calls']} | {s['ok']} | {_fmt(_num(s['ttft_p50']))} "
                f"| {_fmt(_num(s['ttft_p95']))} | {_fmt(_num(s['first_token_p50']))} "
                f"| {_fmt(_num(s['reasoning_p50']))} | {_fmt(_num(s['itl_p50']))} | {_fmt(_num(s['tpot_p50']))} "
                f"| {_fmt(_num(s['e2e_p50']))} "
                f"| {corr} | {', '.join(_strs(s['labels']))} |")
        lines += ["", (f"Times in ms over ok calls; TTFT is the first answer token, \"first token\" the first of "
                      f"any kind (a reasoning model's reasoning included: equal to TTFT when none is streamed), "
                      f"\"reasoning\" how long the stream showed it reasoning; ITL p50 is the median of per-call median inter-token "
                      f"gaps (far below TPOT: the stream arrives in bursts); TPOT is a call's (E2E - TTFT) / "
                      f"(output tokens - 1). Labels: \"slow to start\" if TTFT p50 > {START_SHARE:g} x E2E "
                      f"p50 (most of the wait is before the first token); \"slow throughout\" if TPOT p50 > "
                      f"{TPOT_SLOW_MS:g} ms; \"fast\" otherwise. Both slow labels can apply.")]
        return "\n".join(lines)

    def to_builtins(self) -> object:
        return msgspec.to_builtins(
            [_ModelTimesData(model, m.calls, m.ok, m.ttft.to_builtins(), m.e2e.to_builtins(), m.itl.to_builtins(),
                             m.tpot.to_builtins(), m.first_token.to_builtins(), m.reasoning.to_builtins(),
                             m.pairs.to_builtins()) for model, m in self.models.items()],
            builtin_types=(bytes,))


class StreamingTTFTPhase(BaselinePhase):
    name = "streaming-ttft"
    description = "the suite streamed on every model: TTFT, inter-token latency, what drives E2E"

    # the quick plan: the two first formats per model (router JSON, a one-word label), enough to
    # time a first token and the tokens after it on each model; the baseline phase asks the rest
    QUICK_ITEMS = 2

    def plan(self, ctx: PlanContext) -> list[WorkItem]:
        """The baseline plan (and its constraint scoring), always streamed: TTFT and
        inter-token gaps only exist for a stream."""
        return [msgspec.structs.replace(item, request=msgspec.structs.replace(item.request, stream=True))
                for item in super().plan(ctx)]

    def section_state(self, data: object = None) -> StreamingSection:
        return StreamingSection(data)

    @staticmethod
    def model_stats(records: Sequence[CallRecord]) -> dict[str, dict[str, object]]:
        """Per model: n, TTFT p50/p95, ITL p50, TPOT p50, E2E p50, (n, r) of TTFT vs E2E,
        labels, and every ok call's TTFT in record order (for the plot)."""
        section = StreamingSection()
        ttft: dict[str, list[float]] = {}
        for r in records:
            section.add(r)
            if r.status == "ok" and r.ttft_ms is not None:
                ttft.setdefault(r.model, []).append(r.ttft_ms)
        return {model: {**row, "ttft": ttft.get(model, [])} for model, row in section.model_rows().items()}

    def write_artifacts(self, run_dir: Path, records: Sequence[CallRecord]) -> list[str]:
        groups = [(model, _floats(s["ttft"])) for model, s in self.model_stats(records).items()]
        groups = [(m, v) for m, v in groups if v]
        if not groups:
            return []
        from agents.phases.plots import box_strip  # matplotlib: ~28 MB, only where plots are drawn

        box_strip(run_dir / PLOT_NAME, groups, ylabel="time to first token (ms)",
                  title="TTFT distribution per model (streamed, ok calls)")
        return [PLOT_NAME]


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _strs(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _floats(value: object) -> list[float]:
    return [float(v) for v in value if isinstance(v, (int, float))] if isinstance(value, list) else []
