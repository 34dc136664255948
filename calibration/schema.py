"""The files calibration writes beside the archive, as typed structs: the contract between
the producers (`fleetbench calibrate`, `select`, the judge phases) and the readers (the
aggregate summary, the HTML dashboard, JSON/CSV exports).

Why one module of plain structs: the dashboard and the summary must not reach into the
maths modules to learn a file's shape, and a renamed field must break the type check,
not a chart at run time.
"""

from __future__ import annotations

import msgspec

RANKINGS_JSON = "rankings.json"
ROUTING_WEIGHTS_JSON = "routing_weights.json"
SURPRISES_JSONL = "surprises.jsonl"
SURPRISES_MD = "SURPRISING_RESULTS.md"
SELECTION_JSON = "selection.json"
JUDGE_COMPARISON_JSON = "judge_comparison.json"  # inside a run directory


class RankRow(msgspec.Struct, kw_only=True):
    """One model in one ranking. `rank` is 1 + the number of models that outrank it, and a
    model outranks another only when their paired difference on shared items excludes
    zero; every other model is `tied_with` it (including ones it shares no item with).
    `mean` and the interval are 0-100 over items (an item's repeats are one unit)."""

    model: str
    rank: int
    mean: float  # 0-100
    ci_low: float
    ci_high: float
    n: int  # items (units) the mean rests on
    tied_with: list[str] = msgspec.field(default_factory=list)
    outranks: list[str] = msgspec.field(default_factory=list)
    answers: int = 0  # scored ok answers behind the n items
    categories: int = 0  # strata of the equal-weight mean


class Sizing(msgspec.Struct, kw_only=True):
    """What a ranking table's n could detect: the smallest net win rate (items won minus
    items lost, as a share of the shared items) that the paired comparison finds with 80 %
    power at alpha 0.05 two-sided, for the median pair's effective number of shared items
    and no tied items. None with pairs: no difference at all is detectable at that n."""

    pairs: int = 0  # model pairs with shared items
    shared_items: int | None = None  # median shared items per pair
    effective_items: float | None = None  # median Kish effective n (categories weigh equally)
    detectable: float | None = None  # net win rate in [0, 1]


class FailureRow(msgspec.Struct, kw_only=True):
    """A model's failed calls, apart from its answers' quality. `rate` is the provider's
    failures over ok + provider-failed calls, averaged per item, with its interval; our
    own failures (never the model's) and skips are counted, never rated."""

    model: str
    calls: int = 0
    ok: int = 0
    provider_errors: int = 0
    our_errors: int = 0
    skipped: int = 0
    items: int = 0
    rate: float | None = None
    ci_low: float = 0.0
    ci_high: float = 1.0
    provider_classes: dict[str, int] = msgspec.field(default_factory=dict)
    our_classes: dict[str, int] = msgspec.field(default_factory=dict)


class SuspectItem(msgspec.Struct, kw_only=True):
    """An item every model (at least 3) failed outright (score 0: the gold answer may be
    wrong) or passed outright (score 100: too easy to tell models apart), over every phase
    that asked it."""

    item_id: str
    category: str
    source: str
    verdict: str  # "suspect gold" | "too easy"
    models: int
    phases: list[str] = msgspec.field(default_factory=list)


class Rankings(msgspec.Struct, kw_only=True):
    generated_at: str  # the archive's newest run (`created_at`), never the clock
    score_source: str  # how a record became a 0-100 score, stated for the reader
    confidence: float = 0.95
    bootstrap_samples: int = 0  # 0: the intervals are closed-form (see `method`)
    method: str = ""  # how means, intervals, ranks and "overall" are computed, stated
    overall: list[RankRow] = msgspec.field(default_factory=list)
    by_category: dict[str, list[RankRow]] = msgspec.field(default_factory=dict)
    by_source: dict[str, list[RankRow]] = msgspec.field(default_factory=dict)
    overall_sizing: Sizing = msgspec.field(default_factory=Sizing)
    category_sizing: dict[str, Sizing] = msgspec.field(default_factory=dict)
    source_sizing: dict[str, Sizing] = msgspec.field(default_factory=dict)
    failures: list[FailureRow] = msgspec.field(default_factory=list)
    suspect_items: list[SuspectItem] = msgspec.field(default_factory=list)


class WeightChange(msgspec.Struct, kw_only=True):
    model: str
    category: str
    old: float | None  # None: first observation of this (model, category)
    new: float
    observed: float  # the new evidence (mean score / 100 over items) the EMA moves towards
    applied: bool  # False when observed was within the threshold of the weight
    n: int = 0  # items the observation rests on


class WeightsVersion(msgspec.Struct, kw_only=True):
    version: int
    updated_at: str
    runs: list[str]  # run ids whose records were the evidence
    changes: list[WeightChange] = msgspec.field(default_factory=list)


class RoutingWeights(msgspec.Struct, kw_only=True):
    """`<runs-dir>/routing_weights.json`: weights in [0, 1] per model per category.
    `updated_at` is the newest evidence run's `created_at`, never the clock."""

    version: int = 0
    updated_at: str = ""
    learning_rate: float = 0.1
    threshold: float = 0.10
    weights: dict[str, dict[str, float]] = msgspec.field(default_factory=dict)  # model -> category -> w
    seen_runs: list[str] = msgspec.field(default_factory=list)
    history: list[WeightsVersion] = msgspec.field(default_factory=list)


class Surprise(msgspec.Struct, kw_only=True):
    date: str
    category: str
    expected_leader: str
    actual_leader: str
    expected_score: float
    actual_score: float
    runs: list[str] = msgspec.field(default_factory=list)


class ModelValue(msgspec.Struct, kw_only=True):
    """One candidate in model selection."""

    model: str  # OpenRouter-style id
    overall: float  # 0-100
    cost_per_m: float  # average $ per 1M tokens (mean of input and output prices)
    value: float  # overall / (cost_per_m + 0.01)
    context_window: int | None = None
    availability: float | None = None  # measured success rate, None = never measured
    measured_score: float | None = None  # fleetbench's own 0-100 score, None = never measured
    final: float = 0.0  # the weighted selection score the picks are made on
    eligible: bool = True
    note: str = ""


class Pick(msgspec.Struct, kw_only=True):
    slot: str  # MIN | DEFAULT | MAX
    model: str | None
    reason: str


class Selection(msgspec.Struct, kw_only=True):
    generated_at: str
    benchmarks_file: str
    weights: dict[str, float]
    caps: dict[str, float]
    picks: list[Pick] = msgspec.field(default_factory=list)
    table: list[ModelValue] = msgspec.field(default_factory=list)


class BenchJudgeRow(msgspec.Struct, kw_only=True):
    judge: str
    n_items: int
    consistency: float | None  # share of items whose repeated verdicts agree
    error_rate: float | None  # unparseable or failed judge calls / all judge calls
    mean_latency_ms: float | None


class ProductionJudgeRow(msgspec.Struct, kw_only=True):
    judge: str
    n: int
    errors: int
    accuracy: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    avg_latency_ms: float | None
    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0


class ModelRun(msgspec.Struct, kw_only=True):
    """One combination of a sweep, as the model lab's `model_runs[]`."""

    generation_model: str
    judge_model: str
    production_judge_model: str
    judge_eval_mode: str
    metrics: dict[str, float | None] = msgspec.field(default_factory=dict)


class JudgeComparison(msgspec.Struct, kw_only=True):
    """`<run-dir>/judge_comparison.json`: comparable only with the same dataset and flags."""

    run_id: str
    dataset: str
    dataset_hash: str
    flags: dict[str, str | int | float | bool | None]
    bench_judges: list[BenchJudgeRow] = msgspec.field(default_factory=list)
    production_judges: list[ProductionJudgeRow] = msgspec.field(default_factory=list)
    model_runs: list[ModelRun] = msgspec.field(default_factory=list)
    notes: list[str] = msgspec.field(default_factory=list)  # e.g. models left out without access
