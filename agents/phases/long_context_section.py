"""The `long-context` phase's summary section as a mergeable state: per model, one row per
context length and payload depth.

Why its own module: the phase module holds the prompt building and the record helpers
(context length and depth of a record, failure names) that this section, the plot and the
dashboard share; the section's state is the part the aggregate folds and caches.
"""

from __future__ import annotations

from collections import Counter

import msgspec

from agents.phases.long_context import (
    count_failures,
    most_common_failure,
    record_depth,
    record_tokens,
    variant_label,
)
from archive.latency import Latencies
from archive.mergeable import Mean, merge_keyed
from archive.section_state import RecordView

INTRO = ("Filler first, the item's prompt last (`8k@50%`: the prompt halfway into the filler); "
         "strict constraints of the original item. Latency in ms over ok calls; prompt tokens "
         "p50 as the provider reported them; a length beyond a model's window shows as "
         "`context_overflow`.")
RowKey = tuple[str, int, int]  # (model, context tokens, payload depth)


class _Row:
    """One model x length x depth: calls, ok calls' latencies, reported prompt tokens and
    adherence, overflows, and the failed constraints of ok answers."""

    __slots__ = ("adherence", "calls", "e2e", "failures", "ok", "overflow", "prompt_tokens", "ttft")

    def __init__(self) -> None:
        self.calls = self.ok = self.overflow = 0
        self.ttft, self.e2e, self.prompt_tokens = Latencies(), Latencies(), Latencies()
        self.adherence = Mean()
        self.failures: Counter[str] = Counter()

    def merge(self, other: _Row) -> None:
        self.calls += other.calls
        self.ok += other.ok
        self.overflow += other.overflow
        self.ttft.merge(other.ttft)
        self.e2e.merge(other.e2e)
        self.prompt_tokens.merge(other.prompt_tokens)
        self.adherence.merge(other.adherence)
        self.failures.update(other.failures)

    def line(self, tokens: int, depth: int) -> str:
        ttft_p50, ttft_p95 = self.ttft.percentiles(50, 95)
        e2e_p50, e2e_p95 = self.e2e.percentiles(50, 95)
        reported = self.prompt_tokens.percentile(50)
        adh = f"{100 * self.adherence.total / self.adherence.n:.1f}%" if self.adherence.n else "-"
        other = self.calls - self.ok - self.overflow
        return (f"| {variant_label(tokens, depth)} | {self.calls} | {'-' if reported is None else f'{reported:.0f}'} "
                f"| {_fmt(ttft_p50)} | {_fmt(ttft_p95)} | {_fmt(e2e_p50)} | {_fmt(e2e_p95)} | {adh} | {self.ok} "
                f"| {self.overflow} | {other} | {most_common_failure(self.failures)} |")


class _RowData(msgspec.Struct, array_like=True):
    """A row's cached form."""

    model: str
    tokens: int
    depth: int
    calls: int
    ok: int
    overflow: int
    ttft: dict[str, bytes]
    e2e: dict[str, bytes]
    prompt_tokens: dict[str, bytes]
    adherence: tuple[int, float]
    failures: dict[str, int]


class LongContextSection:
    """Per model, a table of context length x payload depth: latency p50/p95 over ok calls,
    reported prompt tokens, adherence, overflows and the top failure."""

    def __init__(self, data: object = None) -> None:
        self.rows: dict[RowKey, _Row] = {}
        for d in msgspec.convert(data, list[_RowData]) if data is not None else []:
            row = self.rows[(d.model, d.tokens, d.depth)] = _Row()
            row.calls, row.ok, row.overflow = d.calls, d.ok, d.overflow
            row.ttft, row.e2e = Latencies.from_builtins(d.ttft), Latencies.from_builtins(d.e2e)
            row.prompt_tokens = Latencies.from_builtins(d.prompt_tokens)
            row.adherence, row.failures = Mean(*d.adherence), Counter(d.failures)

    def add(self, record: RecordView) -> None:
        if (tokens := record_tokens(record)) is None:
            return
        key = (record.model, tokens, record_depth(record))
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = _Row()
        row.calls += 1
        if record.status != "ok":
            row.overflow += record.error_class == "context_overflow"
            return
        row.ok += 1
        if record.ttft_ms is not None:
            row.ttft.add(record.ttft_ms)
        if record.e2e_ms is not None:
            row.e2e.add(record.e2e_ms)
        if record.input_tokens is not None:
            row.prompt_tokens.add(float(record.input_tokens))
        if isinstance(value := record.extra.get("adherence"), (int, float)):
            row.adherence.add(float(value))
        count_failures(record, row.failures)

    def merge(self, other: LongContextSection) -> None:
        merge_keyed(self.rows, other.rows, _Row)

    def render(self) -> str | None:
        if not self.rows:
            return None
        lines = [INTRO, ""]
        for model in sorted({m for m, _, _ in self.rows}):
            lines += [f"**{model}**", "",
                      ("| context | n | prompt tokens p50 | TTFT p50 | TTFT p95 | E2E p50 | E2E p95 "
                       "| adherence | ok | context_overflow | other errors | top failure |"),
                      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
            for (_, tokens, depth) in sorted(k for k in self.rows if k[0] == model):
                lines.append(self.rows[(model, tokens, depth)].line(tokens, depth))
            lines.append("")
        return "\n".join(lines).rstrip()

    def to_builtins(self) -> object:
        return msgspec.to_builtins(
            [_RowData(model, tokens, depth, r.calls, r.ok, r.overflow, r.ttft.to_builtins(), r.e2e.to_builtins(),
                      r.prompt_tokens.to_builtins(), (r.adherence.n, r.adherence.total), dict(r.failures))
             for (model, tokens, depth), r in self.rows.items()], builtin_types=(bytes,))


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
