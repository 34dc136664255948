"""The "surprising results" log: a model beat the one expected to lead a category.

Why logged, not just re-weighted (seed 001's learning loop): a surprise is the cue to
look at outputs and update the team's model profiles; the weights alone would move
silently. The expected leader is the configured one, else the highest weight before this
update; a surprise needs both models measured in the new evidence, so a leader that
simply was not run is not "beaten".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec

from archive.store import atomic_write_text
from calibration.schema import SURPRISES_JSONL, SURPRISES_MD, RoutingWeights, Surprise
from calibration.summary_md import read_surprises


def expected_leader(category: str, before: RoutingWeights, configured: Mapping[str, str]) -> str | None:
    if category in configured:
        return configured[category]
    candidates = [(per[category], model) for model, per in before.weights.items() if category in per]
    return max(candidates)[1] if candidates else None


def find_surprises(means: Mapping[str, Mapping[str, float]], before: RoutingWeights,
                   configured: Mapping[str, str], *, date: str, runs: Sequence[str]) -> list[Surprise]:
    """`means`: category -> model -> mean score (0-100) in the new evidence."""
    out: list[Surprise] = []
    for category, per_model in sorted(means.items()):
        leader = expected_leader(category, before, configured)
        if leader is None or leader not in per_model or not per_model:
            continue
        best_score, best = max((score, model) for model, score in per_model.items())
        if best != leader and best_score > per_model[leader]:
            out.append(Surprise(date=date, category=category, expected_leader=leader, actual_leader=best,
                                expected_score=per_model[leader], actual_score=best_score, runs=sorted(runs)))
    return out


def record_surprises(runs_dir: Path, surprises: Sequence[Surprise]) -> None:
    """Append to surprises.jsonl (fsynced) and rewrite the markdown log from it."""
    if not surprises:
        return
    path = runs_dir / SURPRISES_JSONL
    with path.open("ab") as fh:
        for s in surprises:
            fh.write(msgspec.json.encode(s) + b"\n")
        fh.flush()
    lines = ["# Surprising results log", ""]
    for s in reversed(read_surprises(path)):
        lines += [f"### {s.date}: {s.actual_leader} excels at {s.category}",
                  f"- Expected: {s.expected_leader} to lead",
                  (f"- Actual: {s.actual_leader} scored {s.actual_score:.1f} (vs {s.expected_leader} "
                  f"{s.expected_score:.1f})"),
                  f"- Runs: {', '.join(s.runs) or '–'}",
                  "- Action: review the outputs; the routing weights already moved with the evidence", ""]
    atomic_write_text(runs_dir / SURPRISES_MD, "\n".join(lines))
