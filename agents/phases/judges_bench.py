"""`judge-bench`: benchmark judges rate a previous run's generation outputs.

Why from a finished run's results.jsonl: the outputs to judge must be fixed before the
judges see them, so every judge rates exactly the same answers (and a judge run can be
repeated without regenerating). Each ok output x each judge x consistency_runs is one
call; the record's `variant` is the generation model (plus `#r<n>` for its repeats), so
the key stays unique and consistency groups by (variant, item). `extra.judge_score` is on
0-100 and `extra.target_model` names the model being rated, for calibration.
"""

from __future__ import annotations

from pathlib import Path

from agents.phases.base import Phase, PlanContext
from agents.phases.judges import (
    JudgedCalls,
    consistency_runs,
    judge_dataset,
    judge_work_item,
    option_models,
    parse_error_lines,
)
from agents.plan import WorkItem, expand_repeats
from archive.stats_md import DASH, fmt_ms, fmt_pct
from archive.store import RESULTS, RunDir
from calibration.judge_metrics import BENCH_PHASE, bench_row, target_scores
from calibration.judge_parse import verdict_fields
from harness.errors import InputError
from harness.records import CallRecord
from harness.seam import ProviderResponse

SOURCE_FLAG = "source_run_results"


def read_source(path: Path) -> list[CallRecord]:
    """The source run's records, from its directory or its results.jsonl (the archive's own
    reader: a torn last line is dropped, corruption elsewhere names file:line)."""
    if not path.exists():
        raise InputError(str(path), "source run not found")
    if path.is_file() and path.name != RESULTS:
        raise InputError(str(path), f"expected a run directory or its {RESULTS}")
    return RunDir(path.parent if path.is_file() else path, "source").load_records()


class JudgeBenchPhase(Phase):
    name = BENCH_PHASE
    description = "benchmark judges rate a previous run's outputs: consistency, error rate, latency"

    def plan(self, ctx: PlanContext) -> list[WorkItem]:
        source = ctx.options.get(SOURCE_FLAG)
        if not source:
            raise InputError(SOURCE_FLAG, "judge-bench needs the results.jsonl of a generation run to judge")
        path = Path(str(source)).expanduser()
        questions = {item.id: item.question for item in judge_dataset(ctx).dataset.items}
        outputs: list[tuple[CallRecord, str]] = []
        for record in read_source(path):
            question = record.extra.get("question")
            question = question if isinstance(question, str) else questions.get(record.item_id)
            if record.status == "ok" and question:
                outputs.append((record, question))
        if not outputs:
            raise InputError(str(path), "no successful generation outputs with a known question to judge")
        kept_ids = list(dict.fromkeys(r.item_id for r, _ in outputs))[: ctx.limit] if ctx.limit else None
        judges = option_models(ctx, "judge_models", "--judge-models")
        items: list[WorkItem] = []
        for record, question in outputs:
            if kept_ids is not None and record.item_id not in kept_ids:
                continue
            target = record.model + (f"#r{record.repeat}" if record.repeat else "")
            meta: dict[str, object] = {"target_model": record.model, "target_item": record.item_id,
                                       "target_repeat": record.repeat, "source_run": record.run_id}
            items += [judge_work_item(self.name, ctx, judge, item_id=record.item_id, variant=target,
                                      category=record.category, question=question, answer=record.output, meta=meta)
                      for judge in judges]
        return expand_repeats(items, consistency_runs(ctx))

    def score(self, item: WorkItem, response: ProviderResponse) -> dict[str, object]:
        return {**verdict_fields(response.text), "judge_mode": item.meta.get("judge_mode"),
                "target_model": item.meta.get("target_model"), "target_item": item.meta.get("target_item"),
                "target_repeat": item.meta.get("target_repeat"), "source_run": item.meta.get("source_run")}

    def section_state(self, data: object = None) -> JudgedCalls:
        return JudgedCalls(self.render_section, data)

    @staticmethod
    def render_section(judged: list[CallRecord]) -> str:
        """Consistency, error rate and latency per judge; mean score per generation model."""
        judges = sorted({r.model for r in judged})
        lines = [("Consistency: share of rated answers whose repeated verdicts agree with scores within 1 point. "
                 "Error rate: failed or unparseable judge calls / all judge calls."), "",
                 "| judge | answers rated | consistency % | error rate % | mean latency ms |",
                 "|---|---:|---:|---:|---:|"]
        for judge in judges:
            row = bench_row(judge, [r for r in judged if r.model == judge])
            lines.append(f"| {judge} | {row.n_items} | {fmt_pct(row.consistency)} | {fmt_pct(row.error_rate)} | "
                         f"{fmt_ms(row.mean_latency_ms)} |")
        scores = target_scores(judged)
        if scores:
            lines += ["", "Mean judge score (0-100) per generation model:", "",
                      "| judge | generation model | mean score | good % |", "|---|---|---:|---:|"]
            for (judge, target), values in sorted(scores.items()):
                mean = values["mean_judge_score"]
                lines.append(f"| {judge} | {target} | {DASH if mean is None else f'{mean:.1f}'} | "
                             f"{fmt_pct(values['good_rate'])} |")
        return "\n".join(lines + parse_error_lines(judged))
