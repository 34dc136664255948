"""Everything the dashboard shows, as one typed tree (`DashboardData`).

Why one tree of msgspec structs: the HTML page, the JSON export and the CSV files are three
views of the same numbers; building them from one collected value means a number can never
differ between the page and the export, and the JSON export is this tree verbatim, so it
round-trips into the same type. Only aggregates live here: raw outputs and error messages
of records never enter the tree (they may hold secrets or hostile text).
"""

from __future__ import annotations

import msgspec

from archive.stats import PhaseModelStats
from calibration.schema import JudgeComparison, Rankings, RoutingWeights, Selection, Surprise
from harness.intervals import Interval


class RunInfo(msgspec.Struct, kw_only=True):
    """One archived run as the History tab lists it (its own records, not lineage winners)."""

    run_id: str
    date: str
    created_at: str
    status: str
    parent_run: str | None = None
    lineage: str = ""
    records: int = 0
    ok: int = 0
    error: int = 0
    skipped: int = 0
    success_rate: float | None = None
    models: list[str] = msgspec.field(default_factory=list)
    phases: list[str] = msgspec.field(default_factory=list)
    mean_score: dict[str, float] = msgspec.field(default_factory=dict)  # model -> 0-100
    scores: dict[str, Interval] = msgspec.field(default_factory=dict)  # model -> the same with interval, n items


class ModelTotal(msgspec.Struct, kw_only=True):
    """One model over every phase (lineage winners): availability, volume, cost, score.
    `scored` counts items (an item's repeats are one), the score's interval is calibration's,
    the success interval Wilson's over calls."""

    model: str
    calls: int = 0
    ok: int = 0
    error: int = 0
    skipped: int = 0
    success_rate: float | None = None
    success_low: float = 0.0
    success_high: float = 1.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    scored: int = 0
    mean_score: float | None = None
    score_low: float | None = None
    score_high: float | None = None


class Overview(msgspec.Struct, kw_only=True):
    runs: int = 0
    lineages: int = 0
    dates: list[str] = msgspec.field(default_factory=list)
    models: list[str] = msgspec.field(default_factory=list)
    phases: list[str] = msgspec.field(default_factory=list)
    calls: int = 0
    ok: int = 0
    error: int = 0
    skipped: int = 0
    success_rate: float | None = None
    unreadable: dict[str, str] = msgspec.field(default_factory=dict)  # run id or file -> why


class LatencyRow(msgspec.Struct, kw_only=True):
    model: str
    ok: int = 0
    ttft_p50_ms: float | None = None
    ttft_p95_ms: float | None = None
    e2e_p50_ms: float | None = None
    e2e_p95_ms: float | None = None
    itl_p50_ms: float | None = None


class StreamingRow(msgspec.Struct, kw_only=True):
    """The `streaming-ttft` phase's per-model verdict, by that phase's own stated rule."""

    model: str
    calls: int = 0
    ok: int = 0
    ttft_p50_ms: float | None = None
    ttft_p95_ms: float | None = None
    itl_p50_ms: float | None = None
    tpot_p50_ms: float | None = None  # (E2E - TTFT) / (output tokens - 1): the label's measure
    e2e_p50_ms: float | None = None
    pairs: int = 0
    pearson_r: float | None = None
    labels: list[str] = msgspec.field(default_factory=list)


class Latency(msgspec.Struct, kw_only=True):
    phases: list[str] = msgspec.field(default_factory=list)  # phases the rows are computed over
    rows: list[LatencyRow] = msgspec.field(default_factory=list)
    # model -> sampled (ttft_ms, e2e_ms) pairs of ok calls, for the scatter plot
    scatter: dict[str, list[tuple[float, float]]] = msgspec.field(default_factory=dict)
    streaming: list[StreamingRow] = msgspec.field(default_factory=list)


class LongContextRow(msgspec.Struct, kw_only=True):
    model: str
    context_tokens: int
    payload_depth: int = 100  # percent of the filler before the prompt; 100 = the prompt last
    label: str  # "2k", "8k", "8k@50%" ...
    calls: int = 0
    ok: int = 0
    adherence: float | None = None  # 0..1 mean over scored ok calls
    prompt_tokens_p50: float | None = None  # as the provider counted them
    top_failure: str = "-"  # the most common failed constraint, e.g. "json: not valid JSON (2)"
    ttft_p50_ms: float | None = None
    ttft_p95_ms: float | None = None
    e2e_p50_ms: float | None = None
    e2e_p95_ms: float | None = None
    context_overflow: int = 0
    other_errors: int = 0


class ToolRow(msgspec.Struct, kw_only=True):
    """Pass rate over scored ok calls (failed calls apart, as in the phase and calibration);
    `rate` is the mean over items of each item's pass share (its repeats are one unit)."""

    model: str
    variant: str
    modes: list[str] = msgspec.field(default_factory=list)  # native / prompt
    scored: int = 0
    passed: int = 0
    pass_rate: float | None = None  # passed / scored calls
    items: int = 0
    rate: float | None = None  # per item
    ci_low: float = 0.0
    ci_high: float = 1.0
    errors: int = 0  # calls that never produced a scorable answer


class ToolTier(msgspec.Struct, kw_only=True):
    """The best variant's tier, only where its whole interval lies in one tier's range;
    otherwise `tier` is None and `label` says which tiers the interval spans."""

    model: str
    best_variant: str
    best_rate: float
    tier: int | None  # 1 capable, 2 partial, 3 incapable; None: uncertain
    label: str = ""
    ci_low: float = 0.0
    ci_high: float = 1.0


class ToolUse(msgspec.Struct, kw_only=True):
    tier1_min: float = 0.8
    tier2_min: float = 0.3
    rows: list[ToolRow] = msgspec.field(default_factory=list)
    failures: dict[str, dict[str, int]] = msgspec.field(default_factory=dict)  # model -> class -> n
    tiers: list[ToolTier] = msgspec.field(default_factory=list)


class DatePoint(msgspec.Struct, kw_only=True):
    """All runs of one date merged: the History chart's x axis."""

    date: str
    runs: int = 0
    records: int = 0
    success_rate: float | None = None
    mean_score: dict[str, float] = msgspec.field(default_factory=dict)
    scores: dict[str, Interval] = msgspec.field(default_factory=dict)  # model -> with interval, n items


class History(msgspec.Struct, kw_only=True):
    runs: list[RunInfo] = msgspec.field(default_factory=list)
    dates: list[DatePoint] = msgspec.field(default_factory=list)
    weights: RoutingWeights | None = None
    surprises: list[Surprise] = msgspec.field(default_factory=list)


class DashboardData(msgspec.Struct, kw_only=True):
    generated_at: str  # the archive's newest run (`created_at`), never the clock: same archive, same page
    runs_dir: str
    score_rule: str  # how a record became the 0-100 "mean score" shown in History/LLM tabs
    overview: Overview
    model_totals: list[ModelTotal] = msgspec.field(default_factory=list)
    phase_stats: list[PhaseModelStats] = msgspec.field(default_factory=list)
    rankings: Rankings | None = None
    selection: Selection | None = None
    judges: list[JudgeComparison] = msgspec.field(default_factory=list)
    latency: Latency = msgspec.field(default_factory=Latency)
    long_context: list[LongContextRow] = msgspec.field(default_factory=list)
    tool_use: ToolUse = msgspec.field(default_factory=ToolUse)
    history: History = msgspec.field(default_factory=History)
    notes: list[str] = msgspec.field(default_factory=list)  # unreadable optional files, and why
