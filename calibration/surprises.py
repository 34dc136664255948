"""The "surprising results" log: a model beat the one expected to lead a category.

Why logged, not just re-weighted (the calibration workflow's learning loop): a surprise is the cue to
look at outputs and update the team's model profiles; the weights alone would move
silently. The expected leader is the configured one, else the highest weight before this
update; a surprise needs both models measured in the new evidence, so a leader that
simply was not run is not "beaten".
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec

from archive.store import atomic_write_text
from calibration.decisions_md import read_surprises
from calibration.schema import SURPRISES_JSONL, SURPRISES_MD, RoutingWeights, Surprise


def expected_leader(category: str, before: RoutingWeights, configured: Mapping[str, str]) -> str | None:
    """The configured leader, else the highest weight before this update (ties: the name
    that sorts last, so the answer never depends on dict order); None for a new category."""
    if category in configured:
        return configured[category]
    candidates = [(per[category], model) for model, per in before.weights.items() if category in per]
    return max(candidates)[1] if candidates else None


def find_surprises(means: Mapping[str, Mapping[str, float]], before: RoutingWeights,
                   configured: Mapping[str, str], *, date: str,
                   runs: Mapping[str, Sequence[str]]) -> list[Surprise]:
    """`means`: category -> model -> mean score (0-100) in the new evidence; `runs`:
    category -> the runs that evidence came from. A surprise
    needs the best model there to beat the expected leader strictly; a tie is no news."""
    out: list[Surprise] = []
    for category, per_model in sorted(means.items()):
        leader = expected_leader(category, before, configured)
        if leader is None or leader not in per_model or not per_model:
            continue
        best_score, best = max((score, model) for model, score in per_model.items())
        if best != leader and best_score > per_model[leader]:
            out.append(Surprise(date=date, category=category, expected_leader=leader, actual_leader=best,
                                expected_score=per_model[leader], actual_score=best_score, runs=sorted(runs.get(category, ()))))
    return out


def _identity(s: Surprise) -> tuple[str, str, str, tuple[str, ...]]:
    """The evidence a surprise is about (not its date: a re-run may fall on the next day)."""
    return s.category, s.expected_leader, s.actual_leader, tuple(s.runs)


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


def render_log(surprises: Sequence[Surprise]) -> str:
    """Seed 001's "Surprising Results Log", newest first."""
    lines = ["## Surprising Results Log", ""]
    for s in reversed(surprises):
        lines += [f"### {s.date}: {s.actual_leader} excels at {s.category}",
                  f"- Category: {s.category}",
                  f"- Expected: {s.expected_leader} primary",
                  (f"- Actual: {s.actual_leader} scored {s.actual_score:.1f} (vs {s.expected_leader} "
                   f"{s.expected_score:.1f})"),
                  f"- Runs: {', '.join(s.runs) or '–'}",
                  ("- Action: review the outputs and the model profiles; routing_weights.json says whether "
                   "the weights moved"), ""]
    return "\n".join(lines)


def record_surprises(runs_dir: Path, surprises: Sequence[Surprise]) -> list[Path]:
    """Append new surprises to surprises.jsonl (fsynced) and rewrite the markdown log from
    it; returns the files written. A surprise already logged (same category, leaders and
    runs: a calibrate that died before saving its weights and ran again) is not
    appended twice."""
    if not surprises:
        return []
    path = runs_dir / SURPRISES_JSONL
    logged = read_surprises(path)
    known = {_identity(s) for s in logged}
    fresh = [s for s in surprises if _identity(s) not in known]
    if fresh:
        with path.open("ab") as fh:
            if fh.tell() and not _ends_with_newline(path):
                fh.write(b"\n")  # seal a torn last line so it cannot swallow ours
            for s in fresh:
                fh.write(msgspec.json.encode(s) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
    atomic_write_text(runs_dir / SURPRISES_MD, render_log([*logged, *fresh]))
    return [path, runs_dir / SURPRISES_MD]
