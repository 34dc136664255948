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
    JudgeComparison,
    Rankings,
    RankRow,
    RoutingWeights,
    Selection,
    Surprise,
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
    lines = ["| rank | model | mean score | 95% CI | n | tied with |", "|---:|---|---:|---|---:|---|"]
    for r in rows:
        ties = ", ".join(r.tied_with) or DASH
        lines.append(f"| {r.rank} | {_cell(r.model)} | {r.mean:.1f} | [{r.ci_low:.1f}, {r.ci_high:.1f}] "
                     f"| {r.n} | {_cell(ties)} |")
    return "\n".join(lines)


def rankings_section(runs_dir: Path) -> str:
    rankings = read_struct(runs_dir / RANKINGS_JSON, Rankings)
    if rankings is None or not rankings.overall:
        return "## Rankings\n\nNo rankings yet: run `fleetbench calibrate`."
    parts = [f"## Rankings\n\nScores 0-100 ({rankings.score_source}); {rankings.confidence:.0%} bootstrap "
             f"intervals over {rankings.bootstrap_samples} resamples. Models whose intervals overlap "
             "share a rank.\n\n### Overall\n\n" + _rank_table(rankings.overall)]
    for category, rows in sorted(rankings.by_category.items()):
        parts.append(f"### {category}\n\n" + _rank_table(rows))
    return "\n\n".join(parts)


def weights_section(runs_dir: Path) -> str:
    weights = read_struct(runs_dir / ROUTING_WEIGHTS_JSON, RoutingWeights)
    if weights is None or not weights.weights:
        return "## Routing weights\n\nNo routing weights yet: run `fleetbench calibrate`."
    categories = sorted({c for per in weights.weights.values() for c in per})
    lines = [(f"## Routing weights\n\nVersion {weights.version} ({weights.updated_at}); EMA learning rate "
             f"{weights.learning_rate:g}, applied when the change exceeds {weights.threshold:.0%}.\n"),
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
