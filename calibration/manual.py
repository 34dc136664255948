"""Manual rubric scoring from the terminal: one question per criterion, resumable.

Why injectable `ask`/`show`: the loop is the product (validation, resume, order), and it
must be testable without a terminal; the CLI passes `input` and a rich console.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from calibration.manual_store import ManualScoreLine, append_manual_score, load_manual_points
from calibration.rubric import band
from harness.records import CallRecord

LABELS = {"best_practices": "Best practices"}


def label(criterion: str) -> str:
    return LABELS.get(criterion, criterion.replace("_", " ").capitalize())


class ManualSession:
    def __init__(self, run_dir: Path, records: Sequence[CallRecord], weights: Mapping[str, int], *,
                 ask: Callable[[str], str], show: Callable[[str], None]) -> None:
        self.run_dir = run_dir
        self.records = sorted((r for r in records if r.status == "ok"), key=lambda r: r.key)
        self.weights = dict(weights)
        self.ask, self.show = ask, show

    def _points(self, criterion: str, top: int) -> int | None:
        """An integer in 0..top; re-asks on anything else; None when input ends."""
        while True:
            try:
                raw = self.ask(f"{label(criterion)} (0-{top}): ").strip()
            except EOFError:
                return None
            if raw.isdigit() and 0 <= int(raw) <= top:
                return int(raw)
            self.show(f"  please enter a whole number from 0 to {top}")

    def run(self) -> dict[tuple[str, str, str, str, int], float]:
        """Ask every unanswered (record, criterion); returns complete totals (0-100)."""
        done = load_manual_points(self.run_dir)
        total_points = sum(self.weights.values())
        for n, record in enumerate(self.records, 1):
            have = done.get(record.key, {})
            todo = [c for c in self.weights if c not in have]
            if not todo:
                continue
            self.show(f"\n[{n}/{len(self.records)}] {record.model} on {record.item_id} ({record.category})\n"
                      f"{record.output[:4000]}\n")
            for criterion in todo:
                points = self._points(criterion, self.weights[criterion])
                if points is None:
                    self.show("\nstopped; run the same command again to resume where you left off")
                    return self.totals()
                append_manual_score(self.run_dir, ManualScoreLine(
                    key=record.key, criterion=criterion, points=points, max_points=self.weights[criterion],
                    scored_at=datetime.now(UTC).isoformat(timespec="seconds")))
                have = {**have, criterion: points}
            total = 100.0 * sum(have[c] for c in self.weights) / total_points
            self.show(f"  total {total:.1f}: {band(total)}")
        return self.totals()

    def totals(self) -> dict[tuple[str, str, str, str, int], float]:
        from calibration.manual_store import manual_totals

        return manual_totals(self.run_dir, self.weights)
