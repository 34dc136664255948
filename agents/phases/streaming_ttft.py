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

import math
from collections.abc import Sequence
from pathlib import Path

import msgspec

from agents.phases.base import PlanContext
from agents.phases.baseline import BaselinePhase
from agents.phases.plots import box_strip
from agents.plan import WorkItem
from harness.records import CallRecord
from harness.timing import percentile

START_SHARE = 0.5  # "slow to start" when TTFT p50 exceeds this share of E2E p50
TPOT_SLOW_MS = 50.0  # "slow throughout" when TPOT p50 exceeds this
PLOT_NAME = "ttft_distribution.png"


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson r; None with fewer than 3 pairs or no variance (r is undefined, not 0)."""
    n = len(xs)
    if n < 3 or n != len(ys):
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def tpot_ms(record: CallRecord) -> float | None:
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


class StreamingTTFTPhase(BaselinePhase):
    name = "streaming-ttft"
    description = "the suite streamed on every model: TTFT, inter-token latency, what drives E2E"

    def plan(self, ctx: PlanContext) -> list[WorkItem]:
        """The baseline plan (and its constraint scoring), always streamed: TTFT and
        inter-token gaps only exist for a stream."""
        return [msgspec.structs.replace(item, request=msgspec.structs.replace(item.request, stream=True))
                for item in super().plan(ctx)]

    @staticmethod
    def model_stats(records: Sequence[CallRecord]) -> dict[str, dict[str, object]]:
        """Per model: n, TTFT p50/p95, ITL p50, TPOT p50, E2E p50, (n, r) of TTFT vs E2E, labels."""
        by_model: dict[str, list[CallRecord]] = {}
        for r in records:
            by_model.setdefault(r.model, []).append(r)
        out: dict[str, dict[str, object]] = {}
        for model, recs in sorted(by_model.items()):
            ok = [r for r in recs if r.status == "ok"]
            ttft = [r.ttft_ms for r in ok if r.ttft_ms is not None]
            first = [r.first_token_ms for r in ok if r.first_token_ms is not None]
            reasoning = [r.reasoning_ms for r in ok if r.reasoning_ms is not None]
            e2e = [r.e2e_ms for r in ok if r.e2e_ms is not None]
            itl = [r.itl_p50_ms for r in ok if r.itl_p50_ms is not None]
            tpot = [t for r in ok if (t := tpot_ms(r)) is not None]
            pairs = [(r.ttft_ms, r.e2e_ms) for r in ok if r.ttft_ms is not None and r.e2e_ms is not None]
            ttft_p50, e2e_p50, tpot_p50 = percentile(ttft, 50), percentile(e2e, 50), percentile(tpot, 50)
            out[model] = {
                "calls": len(recs), "ok": len(ok), "ttft_p50": ttft_p50, "ttft_p95": percentile(ttft, 95),
                "first_token_p50": percentile(first, 50), "reasoning_p50": percentile(reasoning, 50),
                "itl_p50": percentile(itl, 50), "tpot_p50": tpot_p50, "e2e_p50": e2e_p50, "pairs": len(pairs),
                "r": pearson([p[0] for p in pairs], [p[1] for p in pairs]),
                "labels": labels(ttft_p50, e2e_p50, tpot_p50), "ttft": ttft,
            }
        return out

    def summary_section(self, records: Sequence[CallRecord]) -> str | None:
        stats = self.model_stats(records)
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

    def write_artifacts(self, run_dir: Path, records: Sequence[CallRecord]) -> list[str]:
        groups = [(model, _floats(s["ttft"])) for model, s in self.model_stats(records).items()]
        groups = [(m, v) for m, v in groups if v]
        if not groups:
            return []
        box_strip(run_dir / PLOT_NAME, groups, ylabel="time to first token (ms)",
                  title="TTFT distribution per model (streamed, ok calls)")
        return [PLOT_NAME]


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _strs(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _floats(value: object) -> list[float]:
    return [float(v) for v in value if isinstance(v, (int, float))] if isinstance(value, list) else []
