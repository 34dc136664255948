"""Model-lab phases: `generation` answers the judge dataset's questions;
`judge-production` rates the dataset's labelled answers (scored against the labels);
`judge-bench` (judges_bench.py) rates a previous run's generation outputs.

Why judges are ordinary phases: a judge call is a model call like any other, so it gets
the same limiter, retry layer, timing and exactly-once records; only the prompt and the
scorer differ. Why `consistency_runs` becomes the record's `repeat`: each repeated judge
call is an independent sample with its own key, never a cached answer (promptfoo's
weak spot), and consistency is computed across those keys.

Options (`RunSpec.options`, all optional): `judge_dataset` (path; default the packaged
`suites/judge_dataset.yaml`), `judge_eval_mode` (direct|reasoned) and `consistency_runs`
(defaults from the config's `calibration.judge`), `production_judge_models` /
`judge_models` (comma lists; default the run's models), `source_run_results` (judge-bench).
`--limit` takes the first N dataset items; `--repeat` applies to `generation` only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import cast

import msgspec

from agents.phases.base import Phase, PlanContext
from agents.plan import WorkItem, build_request, expand_repeats
from archive.section_state import RecordView
from archive.stats_md import fmt_ms, fmt_pct
from calibration.judge_dataset import LoadedJudgeDataset, load_judge_dataset
from calibration.judge_metrics import GENERATION_PHASE, PRODUCTION_PHASE, production_row
from calibration.judge_parse import verdict_fields
from calibration.judge_prompt import JudgeMode, check_mode, judge_prompt, judge_schema
from harness.errors import InputError
from harness.model_ref import ModelRef
from harness.records import CallRecord, Status
from harness.seam import ProviderResponse

GENERATION_SYSTEM = "Answer the user's question correctly and concisely, in one or two sentences."
GENERATION_MAX_TOKENS = 256


def judge_mode(ctx: PlanContext) -> JudgeMode:
    try:
        return check_mode(ctx.options.get("judge_eval_mode", ctx.config.calibration.judge.mode))
    except ValueError as exc:
        raise InputError("--judge-eval-mode", str(exc)) from None


def consistency_runs(ctx: PlanContext) -> int:
    value = ctx.options.get("consistency_runs", ctx.config.calibration.judge.consistency_runs)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError("--consistency-runs", f"must be an integer >= 1, got {value!r}")
    return value


def option_models(ctx: PlanContext, key: str, flag: str) -> list[ModelRef]:
    """A comma string or a list of `provider/model` names; the run's models when absent."""
    given = ctx.options.get(key)
    if given is None:
        return list(ctx.models)
    names = given.split(",") if isinstance(given, str) else [str(n) for n in given] \
        if isinstance(given, (list, tuple)) else None
    if names is None:
        raise InputError(flag, f"expected a comma-separated list of models, got {given!r}")
    refs = [ModelRef.parse(n, flag) for n in names if n.strip()]
    if not refs:
        raise InputError(flag, "names no model")
    return list(dict.fromkeys(refs))


def judge_dataset(ctx: PlanContext) -> LoadedJudgeDataset:
    path = ctx.options.get("judge_dataset")
    return load_judge_dataset(str(path) if path else None)


def judge_work_item(phase: str, ctx: PlanContext, model: ModelRef, *, item_id: str, variant: str,
                    category: str, question: str, answer: str, meta: dict[str, object]) -> WorkItem:
    """One judge call. Temperature 0 and no streaming: a verdict is used whole, so E2E is
    its latency; repeats still differ where the provider is not deterministic."""
    mode = judge_mode(ctx)
    prompt = judge_prompt(question, answer, mode)
    request = build_request(model, prompt.user, system=prompt.system,
                            max_tokens=ctx.config.calibration.judge.max_tokens, temperature=0.0, stream=False,
                            timeout_s=ctx.config.timeout_for(model.provider))
    request = msgspec.structs.replace(request, response_schema=judge_schema(mode))
    return WorkItem(phase=phase, item_id=item_id, model=str(model), variant=variant, category=category,
                    request=request, meta={**meta, "judge_mode": mode})


def parse_error_lines(records: Sequence[CallRecord]) -> list[str]:
    """The commonest reasons each judge's replies failed to parse: what to fix first."""
    reasons: dict[str, Counter[str]] = defaultdict(Counter)
    for r in records:
        if r.status == "ok" and r.extra.get("judge_parsed") is False:
            reasons[r.model][str(r.extra.get("parse_error"))] += 1
    if not reasons:
        return []
    lines = ["", "Unparseable replies (counted as errors, never as verdicts):", "",
             "| judge | reason | replies |", "|---|---|---:|"]
    for model, counter in sorted(reasons.items()):
        lines += [f"| {model} | {reason.replace('|', '/')} | {n} |" for reason, n in counter.most_common(3)]
    return lines


# the record.extra fields judge sections read (calibration/judge_metrics.py and parse_error_lines)
JUDGE_FIELDS = ("judge_parsed", "judge_verdict", "judge_score", "judge_raw_score", "parse_error", "expected",
                "target_model")


class JudgedCalls:
    """A judge section's state: its non-skipped calls, slimmed to the fields the judge metrics
    read, rendered by the same functions `judge_comparison.json` uses.

    Why calls and not counters: benchmark consistency groups the repeated verdicts on one
    rated answer, wherever (in whichever run) they were made, and the metrics' own rules
    (calibration/judge_metrics.py) stay the only statement of them. Judge phases are small by
    nature (a labelled dataset x judges x consistency runs), so this is the one section whose
    state grows with its records: about 300 bytes per judge call."""

    def __init__(self, render: Callable[[list[CallRecord]], str | None], data: object = None) -> None:
        self._render = render
        self.calls: list[CallRecord] = msgspec.convert(data, list[CallRecord]) if data is not None else []

    def add(self, record: RecordView) -> None:
        if record.status == "skipped":
            return
        extra = record.extra
        self.calls.append(CallRecord(
            run_id="", phase=record.phase, item_id=record.item_id, model=record.model, variant=record.variant,
            repeat=record.repeat, category=record.category, status=cast(Status, record.status),
            error_class=record.error_class, e2e_ms=record.e2e_ms,
            extra={key: extra[key] for key in JUDGE_FIELDS if key in extra}))

    def merge(self, other: JudgedCalls) -> None:
        self.calls.extend(other.calls)

    def render(self) -> str | None:
        return self._render(self.calls) if self.calls else None

    def to_builtins(self) -> object:
        return msgspec.to_builtins(self.calls)


class GenerationPhase(Phase):
    name = GENERATION_PHASE
    description = "the judge dataset's questions on the generation models (what judge-bench rates)"

    def plan(self, ctx: PlanContext) -> list[WorkItem]:
        dataset = judge_dataset(ctx)
        items: list[WorkItem] = []
        for entry in dataset.chosen(ctx.limit):
            for model in ctx.models:
                request = build_request(model, entry.question, system=GENERATION_SYSTEM,
                                        max_tokens=GENERATION_MAX_TOKENS, temperature=0.0, stream=True,
                                        timeout_s=ctx.config.timeout_for(model.provider))
                items.append(WorkItem(phase=self.name, item_id=entry.id, model=str(model), category=entry.category,
                                      request=request, meta={"question": entry.question}))
        return expand_repeats(items, ctx.repeat)

    def score(self, item: WorkItem, response: ProviderResponse) -> dict[str, object]:
        """The question travels with the answer, so a judge run needs only results.jsonl."""
        return {"question": item.meta.get("question")}


class JudgeProductionPhase(Phase):
    name = PRODUCTION_PHASE
    description = "production judges rate the labelled dataset's answers: accuracy, precision, recall, F1"

    def plan(self, ctx: PlanContext) -> list[WorkItem]:
        dataset = judge_dataset(ctx)
        judges = option_models(ctx, "production_judge_models", "--production-judge-models")
        items = [judge_work_item(self.name, ctx, judge, item_id=entry.id, variant="", category=entry.category,
                                 question=entry.question, answer=entry.answer, meta={"expected": entry.label})
                 for entry in dataset.chosen(ctx.limit) for judge in judges]
        return expand_repeats(items, consistency_runs(ctx))

    def score(self, item: WorkItem, response: ProviderResponse) -> dict[str, object]:
        return {**verdict_fields(response.text), "expected": item.meta.get("expected"),
                "judge_mode": item.meta.get("judge_mode")}

    def section_state(self, data: object = None) -> JudgedCalls:
        return JudgedCalls(self.render_section, data)

    @staticmethod
    def render_section(judged: list[CallRecord]) -> str:
        """The confusion-matrix table per judge over its non-skipped calls."""
        lines = [("Positive class = label `bad`; failed or unparseable replies are errors, excluded "
                 "from the confusion matrix."), "",
                 ("| judge | calls | errors | accuracy % | precision % | recall % | F1 % | mean latency ms "
                 "| TP | FP | TN | FN |"), "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for model in sorted({r.model for r in judged}):
            row = production_row(model, [r for r in judged if r.model == model])
            lines.append(f"| {model} | {row.n} | {row.errors} | {fmt_pct(row.accuracy)} | {fmt_pct(row.precision)} | "
                         f"{fmt_pct(row.recall)} | {fmt_pct(row.f1)} | {fmt_ms(row.avg_latency_ms)} | "
                         f"{row.tp} | {row.fp} | {row.tn} | {row.fn} |")
        return "\n".join(lines + parse_error_lines(judged))
