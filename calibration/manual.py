"""Manual rubric scoring from the terminal: one question per criterion, resumable.

Why one question per criterion, each answer stored before the next question: a human
scoring dozens of answers will stop half-way (Ctrl-D, Ctrl-C, a closed laptop); the next
start must go on at the first unanswered criterion, never asking anything twice. Why
injectable `ask`/`show`: the loop is the product (order, validation, resume), and it must be
testable without a terminal; the CLI passes `input` and a rich console.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from calibration.manual_store import ManualScoreLine, append_manual_score, load_manual_points, manual_totals
from calibration.rubric import band
from calibration.scores import UNSCORED_PHASES
from harness.records import CallRecord, RecordKey

LABELS = {"best_practices": "Best practices"}
PROMPT_SUMMARY_CHARS = 300


def label(criterion: str) -> str:
    """`best_practices` -> `Best practices`: the criteria's names, as a human reads them."""
    return LABELS.get(criterion, criterion.replace("_", " ").strip().capitalize())


def summarise(text: str, limit: int = PROMPT_SUMMARY_CHARS) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def parse_points(raw: str, top: int) -> int | None:
    """A whole number in 0..top (surrounding spaces allowed), else None."""
    value = raw.strip()
    if not (value.isascii() and value.isdigit()):
        return None
    points = int(value)
    return points if points <= top else None


@dataclass(frozen=True, slots=True)
class ManualResult:
    totals: dict[RecordKey, float]  # every record of the session now fully scored, 0-100
    unanswered: int  # questions still open when the session ended
    stopped: bool  # input ended or was interrupted before the last question
    order: list[RecordKey] = field(default_factory=list)  # the session's records, in asking order


class ManualSession:
    """Asks, for each ok answer in key order, one question per rubric criterion not yet
    answered in `<run_dir>/manual_scores.jsonl`, and appends each answer at once. Judge
    records (`UNSCORED_PHASES`) rate other answers and are not asked about.

    An earlier answer above the criterion's current maximum (the rubric's weights changed)
    is asked again; the new line wins (the store keeps the latest per criterion).
    """

    def __init__(self, run_dir: Path, records: Sequence[CallRecord], weights: Mapping[str, int], *,
                 ask: Callable[[str], str], show: Callable[[str], None],
                 prompts: Mapping[str, str] | None = None, max_output_chars: int | None = None) -> None:
        self.run_dir = run_dir
        self.records = sorted((r for r in records if r.status == "ok" and r.phase not in UNSCORED_PHASES),
                              key=lambda r: r.key)
        self.weights = dict(weights)
        self.ask, self.show = ask, show
        self.prompts = dict(prompts or {})
        self.max_output_chars = max_output_chars

    def todo(self) -> list[tuple[CallRecord, list[str]]]:
        """(record, criteria still to ask), for records with at least one open question."""
        done = load_manual_points(self.run_dir)
        out: list[tuple[CallRecord, list[str]]] = []
        for record in self.records:
            have = done.get(record.key, {})
            open_ = [c for c, top in self.weights.items() if c not in have or have[c] > top]
            if open_:
                out.append((record, open_))
        return out

    def _ask_points(self, criterion: str) -> int | None:
        """Re-asks until the answer is valid; None when input ends or is interrupted."""
        top = self.weights[criterion]
        while True:
            try:
                raw = self.ask(f"{label(criterion)} (0-{top}): ")
            except (EOFError, KeyboardInterrupt):
                return None
            points = parse_points(raw, top)
            if points is not None:
                return points
            self.show(f"  {raw.strip()!r} is not a whole number from 0 to {top}; please try again")

    def _present(self, index: int, count: int, record: CallRecord) -> None:
        variant = f" [{record.variant}]" if record.variant else ""
        repeat = f" (repeat {record.repeat})" if record.repeat else ""
        output = record.output
        if self.max_output_chars is not None and len(output) > self.max_output_chars:
            output = output[: self.max_output_chars] + f"\n… ({len(record.output) - self.max_output_chars} more chars)"
        prompt = self.prompts.get(record.item_id)
        self.show(f"\n[{index}/{count}] {record.model} · {record.phase}/{record.item_id}{variant}{repeat}"
                  f" · {record.category}\n"
                  f"Prompt: {summarise(prompt) if prompt else '(prompt not available)'}\n"
                  f"Output:\n{output if output.strip() else '(empty answer)'}\n")

    def run(self) -> ManualResult:
        todo = self.todo()
        for index, (record, criteria) in enumerate(todo, 1):
            self._present(index, len(todo), record)
            for n, criterion in enumerate(criteria):
                points = self._ask_points(criterion)
                if points is None:
                    open_now = len(criteria) - n + sum(len(c) for _, c in todo[index:])
                    self.show(f"\nstopped with {open_now} question(s) open; run the same command again "
                              "to resume where you left off")
                    return self._result(open_now, stopped=True)
                append_manual_score(self.run_dir, ManualScoreLine(
                    key=record.key, criterion=criterion, points=points, max_points=self.weights[criterion],
                    scored_at=datetime.now(UTC).isoformat(timespec="seconds")))
            total = self.totals().get(record.key)
            if total is not None:
                self.show(f"  total {total:.1f}: {band(total)}")
        return self._result(0, stopped=False)

    def totals(self) -> dict[RecordKey, float]:
        return manual_totals(self.run_dir, self.weights)

    def _result(self, unanswered: int, *, stopped: bool) -> ManualResult:
        keys = [r.key for r in self.records]
        totals = self.totals()
        return ManualResult(totals={k: totals[k] for k in keys if k in totals}, unanswered=unanswered,
                            stopped=stopped, order=keys)
