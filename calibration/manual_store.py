"""Manual rubric scores of a run: `<run-dir>/manual_scores.jsonl`, one line per criterion.

Why one line per criterion, appended and fsynced: `fleetbench score --manual` asks one
question per criterion and may be interrupted at any prompt; on the next start it must
resume at the first unanswered criterion without asking anything twice. A record has a
manual total only once every criterion of the rubric is scored; the latest line for a
(record, criterion) wins, so re-scoring is an append, never a rewrite.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

from harness.records import RecordKey

MANUAL_SCORES_JSONL = "manual_scores.jsonl"


class ManualScoreLine(msgspec.Struct, kw_only=True):
    key: tuple[str, str, str, str, int]  # (phase, item_id, model, variant, repeat)
    criterion: str
    points: int
    max_points: int
    scored_at: str


_decoder = msgspec.json.Decoder(ManualScoreLine)
_encoder = msgspec.json.Encoder()


def append_manual_score(run_dir: Path, line: ManualScoreLine) -> None:
    path = run_dir / MANUAL_SCORES_JSONL
    with path.open("ab") as fh:
        fh.write(_encoder.encode(line) + b"\n")
        fh.flush()
        os.fsync(fh.fileno())


def _latest_lines(run_dir: Path) -> dict[RecordKey, dict[str, ManualScoreLine]]:
    """(record key) -> criterion -> its latest line; a torn last line (killed mid-write) is ignored."""
    path = run_dir / MANUAL_SCORES_JSONL
    out: dict[RecordKey, dict[str, ManualScoreLine]] = {}
    if not path.is_file():
        return out
    for raw in path.read_bytes().splitlines():
        if not raw.strip():
            continue
        try:
            line = _decoder.decode(raw)
        except msgspec.DecodeError:
            continue
        out.setdefault(tuple(line.key), {})[line.criterion] = line  # type: ignore[arg-type]
    return out


def load_manual_points(run_dir: Path) -> dict[RecordKey, dict[str, int]]:
    """(record key) -> criterion -> points."""
    return {key: {c: line.points for c, line in lines.items()} for key, lines in _latest_lines(run_dir).items()}


def manual_totals(run_dir: Path, weights: Mapping[str, int]) -> dict[RecordKey, float]:
    """Complete manual scores as 0-100 totals: points over the maximum each was given out of.

    Each line keeps the `max_points` its criterion had when it was scored, so changing the
    rubric weights later does not reinterpret points given on the old scale."""
    out: dict[RecordKey, float] = {}
    for key, lines in _latest_lines(run_dir).items():
        if all(c in lines for c in weights):
            scale = sum(lines[c].max_points for c in weights)
            if scale > 0:
                out[key] = 100.0 * sum(lines[c].points for c in weights) / scale
    return out


def manual_totals_by_run(run_paths: Mapping[str, Path], weights: Mapping[str, int]) -> dict[str, dict[RecordKey, float]]:
    """run id -> its complete manual totals, for the runs that have any (`score_records`' input)."""
    return {run_id: totals for run_id, path in sorted(run_paths.items()) if (totals := manual_totals(path, weights))}
