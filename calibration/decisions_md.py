"""The decision sections of `AGGREGATE_SUMMARY.md`: rankings, routing weights, surprising
results, model selection and judge comparisons, rendered from the calibration files.

Why from the files and not from the maths: the summary must show exactly what
`fleetbench calibrate`/`select`/`sweep` wrote (the numbers routing will use), and a missing
file is a sentence telling the reader which command produces it, never an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import msgspec

from calibration.schema import (
    JUDGE_COMPARISON_JSON,
    RANKINGS_JSON,
    ROUTING_WEIGHTS_JSON,
    SELECTION_JSON,
    SURPRISES_JSONL,
    FailureRow,
    JudgeComparison,
    Rankings,
    RankRow,
    RoutingWeights,
    Selection,
    Sizing,
    Surprise,
    SuspectItem,
)

T = TypeVar("T")
DASH = "–"


def read_struct(path: Path, kind: type[T]) -> T | None:
    """The file decoded as `kind`, or None when it is missing or unreadable."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=kind)
    except (OSError, msgspec.DecodeError):
        return None


def read_surprises(path: Path) -> list[Surprise]:
    out: list[Surprise] = []
    try:
        lines = path.read_bytes().splitlines()
    except OSError:
        return out
    for raw in lines:
        try:
            out.append(msgspec.json.decode(raw, type=Surprise))
        except msgspec.DecodeError:
            continue  # a torn last line from a killed writer
    return out


def _num(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{value:.{digits}f}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _rank_table(rows: Sequence[RankRow]) -> str:
    lines = ["| rank | model | mean score | 95% CI | items | answers | outranks | tied with |",
             "|---:|---|---:|---|---:|---:|---|---|"]
    for r in rows:
        lines.append(f"| {r.rank} | {_cell(r.model)} | {r.mean:.1f} | [{r.ci_low:.1f}, {r.ci_high:.1f}] | {r.n} "
                     f"| {r.answers} | {_cell(', '.join(r.outranks) or DASH)} | {_cell(', '.join(r.tied_with) or DASH)} |")
    return "\n".join(lines)


def sizing_text(sizing: Sizing) -> str:
    """The table's run-sizing sentence: what its n could detect."""
    if not sizing.pairs:
        return "No two models share an item here: nothing is compared."
    shared = f"median pair: {sizing.shared_items} shared items, {sizing.effective_items:g} effective"
    if sizing.detectable is None:
        return f"Detectable: no difference at all ({shared}); add items to separate models."
    return (f"Detectable: a net win rate of {sizing.detectable:.2f} or more (items won minus lost, as a share; "
            f"80% power, alpha 0.05; {shared}).")


def _ranked(title: str, rows: Sequence[RankRow], sizing: Sizing) -> str:
    return f"{title}\n\n{_rank_table(rows)}\n\n{sizing_text(sizing)}"


def failures_table(rows: Sequence[FailureRow]) -> str:
    """Models that made calls; the ones whose every call was skipped (no access) are named
    after the table instead of filling it with empty rows."""
    lines = [("| model | calls | ok | provider failures | failure rate per item | 95% CI | items | our failures "
             "| skipped | provider classes | our classes |"), "|---|---:|---:|---:|---:|---|---:|---:|---:|---|---|"]
    for f in (f for f in rows if f.items or f.our_errors):
        classes = ", ".join(f"{k}: {v}" for k, v in f.provider_classes.items()) or DASH
        ours = ", ".join(f"{k}: {v}" for k, v in f.our_classes.items()) or DASH
        lines.append(f"| {_cell(f.model)} | {f.calls} | {f.ok} | {f.provider_errors} | {_pct(f.rate)} "
                     f"| [{100 * f.ci_low:.1f}, {100 * f.ci_high:.1f}] | {f.items} | {f.our_errors} | {f.skipped} "
                     f"| {_cell(classes)} | {_cell(ours)} |")
    skipped = [f.model for f in rows if not f.items and not f.our_errors]
    if skipped:
        lines += ["", f"Every call skipped (no access): {_cell(', '.join(skipped))}."]
    return "\n".join(lines)


def suspects_table(items: Sequence[SuspectItem]) -> str:
    lines = ["| item | category | source | phases | verdict | models |", "|---|---|---|---|---|---:|"]
    for s in items:
        lines.append(f"| {_cell(s.item_id)} | {_cell(s.category)} | {s.source} | {_cell(', '.join(s.phases))} "
                     f"| {s.verdict} | {s.models} |")
    return "\n".join(lines)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def rankings_section(runs_dir: Path) -> str:
    rankings = read_struct(runs_dir / RANKINGS_JSON, Rankings)
    if rankings is None or not rankings.overall:
        return "## Rankings\n\nNo rankings yet: run `fleetbench calibrate`."
    categories = len(rankings.by_category)
    parts = [(f"## Rankings\n\nScores 0-100 ({rankings.score_source}). Method: {rankings.method}. "
             f"As of {rankings.generated_at or DASH} (the newest run)."),
             _ranked(f"### Overall (equal weight for each of {_plural(categories, 'category', 'categories')})",
                     rankings.overall,
                     rankings.overall_sizing)]
    for source, rows in rankings.by_source.items():
        parts.append(_ranked(f"### Source: {source} (its categories weigh equally)", rows,
                             rankings.source_sizing.get(source, Sizing())))
    for category, rows in sorted(rankings.by_category.items()):
        parts.append(_ranked(f"### {category}", rows, rankings.category_sizing.get(category, Sizing())))
    if rankings.failures:
        parts.append("### Failed calls (apart from quality)\n\nThe provider's failures (rate limits exhausted, "
                     "5xx after retries, context overflow, ...) as a rate per item with its interval; our own "
                     "failures (a lost subagent, a limiter or client error, no key) are counted, never the "
                     "model's.\n\n" + failures_table(rankings.failures))
    if rankings.suspect_items:
        parts.append("### Suspect items\n\nEvery model (at least 3) scored 0 (suspect gold: check the expected "
                     "answer) or 100 (too easy to tell models apart).\n\n" + suspects_table(rankings.suspect_items))
    return "\n\n".join(parts)


def weights_section(runs_dir: Path) -> str:
    weights = read_struct(runs_dir / ROUTING_WEIGHTS_JSON, RoutingWeights)
    if weights is None or not weights.weights:
        return "## Routing weights\n\nNo routing weights yet: run `fleetbench calibrate`."
    categories = sorted({c for per in weights.weights.values() for c in per})
    lines = [(f"## Routing weights\n\nVersion {weights.version} ({weights.updated_at}); a weight moves "
              f"{weights.learning_rate:g} of the way to the observed score when that differs from it by more "
              f"than {weights.threshold:.0%}.\n"),
             "| model | " + " | ".join(categories) + " |", "|---|" + "---:|" * len(categories)]
    for model, per in sorted(weights.weights.items()):
        lines.append(f"| {_cell(model)} | " + " | ".join(_num(per.get(c), 3) for c in categories) + " |")
    if weights.history:
        last = weights.history[-1]
        applied = [c for c in last.changes if c.applied]
        lines += ["", (f"Last update (version {last.version}, runs {', '.join(last.runs) or DASH}): "
                      f"{len(applied)} of {len(last.changes)} changes applied.")]
    return "\n".join(lines)


def surprises_section(runs_dir: Path, last: int = 10) -> str | None:
    surprises = read_surprises(runs_dir / SURPRISES_JSONL)
    if not surprises:
        return None
    lines = ["## Surprising results", "", "| date | category | expected leader | actual leader | scores |",
             "|---|---|---|---|---|"]
    for s in surprises[-last:]:
        lines.append(f"| {s.date} | {_cell(s.category)} | {_cell(s.expected_leader)} | {_cell(s.actual_leader)} "
                     f"| {s.actual_score:.1f} vs {s.expected_score:.1f} |")
    return "\n".join(lines)


def selection_section(runs_dir: Path) -> str:
    selection = read_struct(runs_dir / SELECTION_JSON, Selection)
    if selection is None:
        return "## Model selection\n\nNo selection yet: run `fleetbench select`."
    lines = ["## Model selection", "", (f"From {selection.benchmarks_file} and fleetbench's own measurements "
             f"({selection.generated_at})."), "", "| slot | model | reason |", "|---|---|---|"]
    for pick in selection.picks:
        lines.append(f"| {pick.slot} | {_cell(pick.model or DASH)} | {_cell(pick.reason)} |")
    return "\n".join(lines)


def judges_section(run_dirs: Sequence[Path]) -> str | None:
    """One block per run that wrote a judge comparison (they are only comparable when the
    dataset hash and flags match, so they are never merged)."""
    blocks: list[str] = []
    for run_dir in run_dirs:
        comparison = read_struct(run_dir / JUDGE_COMPARISON_JSON, JudgeComparison)
        if comparison is None:
            continue
        flags = ", ".join(f"{k}={v}" for k, v in sorted(comparison.flags.items()))
        lines = [f"### Run {comparison.run_id}", "",
                 f"Dataset {comparison.dataset} (hash {comparison.dataset_hash[:12]}); {flags}.", ""]
        if comparison.bench_judges:
            lines += ["| benchmark judge | items | consistency | error rate | mean latency ms |",
                      "|---|---:|---:|---:|---:|"]
            for b in comparison.bench_judges:
                lines.append(f"| {_cell(b.judge)} | {b.n_items} | {_pct(b.consistency)} | {_pct(b.error_rate)} "
                             f"| {_num(b.mean_latency_ms)} |")
            lines.append("")
        if comparison.production_judges:
            lines += ["| production judge | n | errors | accuracy | precision | recall | F1 | avg latency ms |",
                      "|---|---:|---:|---:|---:|---:|---:|---:|"]
            for p in comparison.production_judges:
                lines.append(f"| {_cell(p.judge)} | {p.n} | {p.errors} | {_pct(p.accuracy)} | {_pct(p.precision)} "
                             f"| {_pct(p.recall)} | {_pct(p.f1)} | {_num(p.avg_latency_ms)} |")
        blocks.append("\n".join(lines).rstrip())
    if not blocks:
        return None
    return "## Judge comparison\n\n" + "\n\n".join(blocks)


def _pct(value: float | None) -> str:
    return DASH if value is None else f"{100 * value:.1f}%"


def decision_sections(runs_dir: Path, run_dirs: Sequence[Path]) -> list[str]:
    """Every decision section, in reading order; optional ones left out when empty."""
    sections: list[str | None] = [rankings_section(runs_dir), weights_section(runs_dir),
                                  surprises_section(runs_dir), selection_section(runs_dir),
                                  judges_section(run_dirs)]
    return [s for s in sections if s]
