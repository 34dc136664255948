"""Per (phase, model, variant) statistics over terminal records.

Why these choices: success rate excludes skipped calls (a skip is our decision, not the
provider's failure); latency percentiles use ok calls only (a timeout's E2E is our deadline,
not the model's speed); cost is None, not 0, when no record knew its cost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import msgspec

from harness.records import CallRecord
from harness.timing import percentile


class PhaseModelStats(msgspec.Struct, kw_only=True):
    phase: str
    model: str
    variant: str = ""
    calls: int = 0
    ok: int = 0
    error: int = 0
    skipped: int = 0
    success_rate: float | None = None
    ttft_p50_ms: float | None = None
    ttft_p95_ms: float | None = None
    e2e_p50_ms: float | None = None
    e2e_p95_ms: float | None = None
    # reasoning models: the first token of any kind (TTFT is the first answer token), the
    # reasoning's duration in the stream, and the reasoning tokens billed
    first_token_p50_ms: float | None = None
    reasoning_p50_ms: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float | None = None
    errors: dict[str, int] = msgspec.field(default_factory=dict)

    @property
    def label(self) -> str:
        """The model as shown in tables, with the phase's own variant if any."""
        return f"{self.model} [{self.variant}]" if self.variant else self.model


def _stats(phase: str, model: str, variant: str, records: list[CallRecord]) -> PhaseModelStats:
    ok = [r for r in records if r.status == "ok"]
    n_error = sum(1 for r in records if r.status == "error")
    n_skipped = sum(1 for r in records if r.status == "skipped")
    ttft = [r.ttft_ms for r in ok if r.ttft_ms is not None]
    e2e = [r.e2e_ms for r in ok if r.e2e_ms is not None]
    costs = [r.cost_usd for r in records if r.cost_usd is not None]
    errors = Counter(r.error_class or "unknown" for r in records if r.status == "error")
    judged = len(ok) + n_error
    return PhaseModelStats(
        phase=phase, model=model, variant=variant, calls=len(records), ok=len(ok), error=n_error,
        skipped=n_skipped, success_rate=len(ok) / judged if judged else None,
        ttft_p50_ms=percentile(ttft, 50), ttft_p95_ms=percentile(ttft, 95),
        e2e_p50_ms=percentile(e2e, 50), e2e_p95_ms=percentile(e2e, 95),
        first_token_p50_ms=percentile([r.first_token_ms for r in ok if r.first_token_ms is not None], 50),
        reasoning_p50_ms=percentile([r.reasoning_ms for r in ok if r.reasoning_ms is not None], 50),
        input_tokens=sum(r.input_tokens or 0 for r in records),
        output_tokens=sum(r.output_tokens or 0 for r in records),
        reasoning_tokens=sum(r.reasoning_tokens or 0 for r in records),
        cost_usd=sum(costs) if costs else None,
        errors=dict(sorted(errors.items())),
    )


def summarize(records: Iterable[CallRecord]) -> list[PhaseModelStats]:
    """One row per (phase, model, variant), sorted by those."""
    groups: dict[tuple[str, str, str], list[CallRecord]] = {}
    for record in records:
        groups.setdefault((record.phase, record.model, record.variant), []).append(record)
    return [_stats(*key, rows) for key, rows in sorted(groups.items(), key=lambda kv: kv[0])]


def error_totals(stats: Iterable[PhaseModelStats]) -> dict[str, int]:
    """Error classes summed over rows, most frequent first."""
    total: Counter[str] = Counter()
    for row in stats:
        total.update(row.errors)
    return dict(sorted(total.items(), key=lambda kv: (-kv[1], kv[0])))
