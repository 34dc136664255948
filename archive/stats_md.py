"""Markdown rendering of statistics: a run's `summary.md` and the tables the aggregate reuses.

Why sections keyed by phase: every phase reports the same call statistics, but each may
add what only it can judge (constraint adherence, context-length curves). A phase plugs in
a `SectionHook` that returns extra markdown, or None to keep just the stats table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from archive.latency import EXACT_LIMIT, SKETCH_NOTE
from archive.stats import PhaseModelStats, error_totals, summarize
from harness.records import CallRecord

SectionHook = Callable[[Sequence[CallRecord]], str | None]
DASH = "–"

_HEADER = ("| model | calls | ok | error | skipped | success % [95% CI] | TTFT p50 ms | TTFT p95 ms "
           "| E2E p50 ms | E2E p95 ms | tokens in | tokens out | cost $ |")
_RULE = "|---|" + "---:|" * 12


def fmt_ms(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f}"


def fmt_pct(value: float | None) -> str:
    return DASH if value is None else f"{100 * value:.1f}"


def fmt_cost(value: float | None) -> str:
    return DASH if value is None else f"{value:.4f}"


def fmt_rate(rate: float | None, lo: float | None, hi: float | None) -> str:
    """A success rate in percent with its interval: `93.3 [81.7, 97.7]`."""
    if rate is None:
        return DASH
    if lo is None or hi is None:
        return fmt_pct(rate)
    return f"{fmt_pct(rate)} [{fmt_pct(lo)}, {fmt_pct(hi)}]"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def stats_table(rows: Sequence[PhaseModelStats]) -> str:
    """One line per model (rows of a single phase)."""
    lines = [_HEADER, _RULE]
    for s in rows:
        lines.append(
            f"| {_cell(s.label)} | {s.calls} | {s.ok} | {s.error} | {s.skipped} "
            f"| {fmt_rate(s.success_rate, s.success_lo, s.success_hi)} "
            f"| {fmt_ms(s.ttft_p50_ms)} | {fmt_ms(s.ttft_p95_ms)} | {fmt_ms(s.e2e_p50_ms)} "
            f"| {fmt_ms(s.e2e_p95_ms)} | {s.input_tokens} | {s.output_tokens} | {fmt_cost(s.cost_usd)} |")
    return "\n".join(lines)


def reasoning_table(rows: Sequence[PhaseModelStats]) -> str | None:
    """Both TTFTs for the rows whose calls reasoned (None when none did): the table above
    times the first answer token; a reasoning model's first token of any kind comes earlier."""
    reasoned = [s for s in rows if s.reasoning_p50_ms is not None]
    if not reasoned:
        return None
    lines = [("| model | TTFT p50 ms (first answer token) | first token p50 ms (any kind) | reasoning p50 ms "
              "| reasoning tokens |"), "|---|---:|---:|---:|---:|"]
    lines += [f"| {_cell(s.label)} | {fmt_ms(s.ttft_p50_ms)} | {fmt_ms(s.first_token_p50_ms)} "
              f"| {fmt_ms(s.reasoning_p50_ms)} | {s.reasoning_tokens} |" for s in reasoned]
    return "\n".join(lines)


def errors_table(rows: Sequence[PhaseModelStats]) -> str | None:
    """Error classes per phase x model, plus totals; None when nothing failed."""
    failing = [s for s in rows if s.errors]
    if not failing:
        return None
    lines = ["| phase | model | error class | count |", "|---|---|---|---:|"]
    for s in failing:
        for cls, count in sorted(s.errors.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"| {s.phase} | {_cell(s.label)} | {cls} | {count} |")
    totals = ", ".join(f"{cls} {n}" for cls, n in error_totals(rows).items())
    return "\n".join(lines) + f"\n\nTotal by class: {totals}"


def phase_parts(stats: Sequence[PhaseModelStats], texts: Mapping[str, str | None],
                heading: str = "##") -> list[str]:
    """Per phase: its stats table, then the phase's own section text if it has one; then
    the errors by class. Shared by a run's summary and the aggregate."""
    parts: list[str] = []
    for phase in sorted({s.phase for s in stats}):
        rows = [s for s in stats if s.phase == phase]
        parts.append(f"{heading} Phase `{phase}`\n\n{stats_table(rows)}")
        reasoning = reasoning_table(rows)
        if reasoning:
            parts.append(reasoning)
        extra = texts.get(phase)
        if extra:
            parts.append(extra.strip())
    errors = errors_table(stats)
    if errors:
        parts.append(f"{heading} Errors by class\n\n{errors}")
    return parts


def phase_sections(records: Sequence[CallRecord], sections: Mapping[str, SectionHook] | None = None,
                   heading: str = "##") -> list[str]:
    """Per phase: its stats table, then the phase's own section if it has one."""
    stats = summarize(records)
    return phase_parts(stats, _section_texts(records, stats, sections), heading)


def _section_texts(records: Sequence[CallRecord], stats: Sequence[PhaseModelStats],
                   sections: Mapping[str, SectionHook] | None) -> dict[str, str | None]:
    hooks = sections or {}
    return {phase: hook([r for r in records if r.phase == phase])
            for phase in sorted({s.phase for s in stats}) if (hook := hooks.get(phase)) is not None}


def _join(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or DASH
    return DASH if value in (None, "") else str(value)


def render_run_summary(manifest: Mapping[str, Any], records: Sequence[CallRecord],
                       sections: Mapping[str, SectionHook] | None = None) -> str:
    """A single run's `summary.md`, from its records in memory."""
    stats = summarize(records)
    return render_folded_summary(manifest, len(records), stats, _section_texts(records, stats, sections))


def render_folded_summary(manifest: Mapping[str, Any], n_records: int, stats: Sequence[PhaseModelStats],
                          texts: Mapping[str, str | None]) -> str:
    """A single run's `summary.md` from its folded statistics and phase section texts."""
    suites = [s.get("name", "?") if isinstance(s, dict) else str(s) for s in manifest.get("suites") or []]
    header = [
        f"# Run {manifest.get('run_id', '?')}",
        "",
        f"- date: {_join(manifest.get('created_at'))}",
        f"- status: {_join(manifest.get('status'))}",
        f"- phases: {_join(manifest.get('phases'))}",
        f"- models: {_join(manifest.get('models'))}",
        f"- suites: {_join(suites)}",
        f"- records: {n_records}",
    ]
    if manifest.get("parent_run"):
        header.append(f"- parent run: {manifest['parent_run']}")
    if n_records > EXACT_LIMIT:  # some row may have more values than are kept exactly
        header.append(f"- {SKETCH_NOTE}")
    body = phase_parts(stats, texts) if n_records else ["No results recorded."]
    return "\n".join(header) + "\n\n" + "\n\n".join(body) + "\n"
