"""One lineage's evidence as small per-item cells, read by streaming its runs' records.

Why cells per (run, model, item) instead of records: rankings, weights, failure rates and
suspect items all work on per-item means (the item is the unit), so a lineage of 20,000
records shrinks to a few hundred cells, and only those are kept (and cached, see
`calibration.cache`). Why per lineage: within a lineage (a run and its retries) the latest
record per key wins, so a retry's records can only be resolved against its parent's; a new
independent run is a lineage of its own, and reading it reads nothing else.

Why the run stays in the cell: routing weights must count each run's evidence once
(`seen_runs`), so the supplying run of every winning record is kept.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from archive.store import RunDir
from calibration.manual_store import manual_totals
from calibration.scores import (
    JUDGE_BENCH_PHASE,
    SOURCE_GROUP,
    AnswerKey,
    RecordView,
    credited_model,
    judge_verdict,
    view_score,
)
from harness.errors import InputError, fault_of
from harness.records import RecordKey

_decoder = msgspec.json.Decoder(RecordView)
UnitKey = tuple[str, str, str, str, str]  # (model, source, phase, item_id, category): one item's quality
CallKey = tuple[str, str, str]  # (model, phase, item_id): one item's calls


class FileSig(msgspec.Struct, array_like=True, frozen=True):
    """A file as it was read: size and mtime for the fast check, sha256 for the slow one."""

    size: int
    mtime_ns: int
    sha256: str


class ScoreCell(msgspec.Struct, array_like=True, frozen=True):
    """Quality evidence: `n` scored ok answers summing to `total` (0-100 each)."""

    run_id: str
    model: str
    source: str  # rubric | judge | adherence | tool
    phase: str
    item_id: str
    category: str
    n: int
    total: float


class CallCell(msgspec.Struct, array_like=True, kw_only=True):
    """Every terminal call of one (run, model, item), by outcome and whose fault a failure was."""

    run_id: str
    model: str
    phase: str
    item_id: str
    ok: int = 0
    provider: int = 0
    ours: int = 0
    skipped: int = 0
    provider_classes: dict[str, int] = msgspec.field(default_factory=dict)
    our_classes: dict[str, int] = msgspec.field(default_factory=dict)


class LineageEvidence(msgspec.Struct, kw_only=True):
    scores: list[ScoreCell] = msgspec.field(default_factory=list)
    calls: list[CallCell] = msgspec.field(default_factory=list)
    sources: dict[str, int] = msgspec.field(default_factory=dict)  # scored answers per (ungrouped) source


@dataclass(frozen=True, slots=True)
class Member:
    """One run of a lineage, as its manifest names it."""

    run: RunDir
    created_at: str
    status: str
    parent: str | None


@dataclass(frozen=True, slots=True)
class _Outcome:
    run_id: str
    model: str
    phase: str
    item_id: str
    category: str
    status: str
    error_class: str | None
    score: float | None
    source: str | None
    verdict: tuple[AnswerKey, float] | None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sig(path: Path) -> FileSig | None:
    """The file's signature, hashing it; None when it does not exist."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return FileSig(size=stat.st_size, mtime_ns=stat.st_mtime_ns, sha256=sha256_of(path))


class _Reader:
    """Streams a results file's records, hashing the bytes as it goes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sig: FileSig | None = None

    def __iter__(self) -> Iterator[RecordView]:
        digest = hashlib.sha256()
        size = 0
        try:
            mtime = self.path.stat().st_mtime_ns
            fh = self.path.open("rb")
        except FileNotFoundError:
            return
        with fh:
            for number, line in enumerate(fh, start=1):
                digest.update(line)
                size += len(line)
                if not line.strip():
                    continue
                try:
                    record = _decoder.decode(line)
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    if not line.endswith(b"\n"):
                        break  # a torn last line from a writer killed mid-write
                    raise InputError(f"{self.path}:{number}", f"corrupt record: {exc}") from None
                yield record
        self.sig = FileSig(size=size, mtime_ns=mtime, sha256=digest.hexdigest())


def _outcome(record: RecordView, manual: Mapping[RecordKey, float]) -> _Outcome:
    scored = view_score(record, manual)
    return _Outcome(run_id=record.run_id, model=credited_model(record), phase=record.phase, item_id=record.item_id,
                    category=record.category, status=record.status, error_class=record.error_class,
                    score=None if scored is None else scored[0], source=None if scored is None else scored[1],
                    verdict=judge_verdict(record))


def _read_member(member: Member, rubric_weights: Mapping[str, int]) -> tuple[dict[RecordKey, _Outcome], FileSig]:
    manual = manual_totals(member.run.path, rubric_weights)
    reader = _Reader(member.run.results_path)
    staged = {record.key: _outcome(record, manual) for record in reader}
    return staged, reader.sig or FileSig(size=0, mtime_ns=0, sha256=hashlib.sha256().hexdigest())


def _count(cell: CallCell, o: _Outcome) -> None:
    if o.status == "ok":
        cell.ok += 1
    elif o.status == "skipped":
        cell.skipped += 1
    else:
        error = o.error_class or "unknown"
        if fault_of(error) == "ours":
            cell.ours += 1
            cell.our_classes[error] = cell.our_classes.get(error, 0) + 1
        else:
            cell.provider += 1
            cell.provider_classes[error] = cell.provider_classes.get(error, 0) + 1


def _cells(winners: Mapping[RecordKey, _Outcome]) -> LineageEvidence:
    scores: dict[tuple[str, str, str, str, str, str], list[float]] = {}
    calls: dict[tuple[str, str, str, str], CallCell] = {}
    verdicts: dict[AnswerKey, list[float]] = {}
    verdict_meta: dict[AnswerKey, tuple[str, str]] = {}
    sources: Counter[str] = Counter()
    for o in winners.values():
        key = (o.run_id, o.model, o.phase, o.item_id)
        cell = calls.get(key)
        if cell is None:
            cell = calls[key] = CallCell(run_id=o.run_id, model=o.model, phase=o.phase, item_id=o.item_id)
        _count(cell, o)
        if o.score is not None and o.source is not None:
            acc = scores.setdefault((o.run_id, o.model, SOURCE_GROUP[o.source], o.phase, o.item_id, o.category),
                                    [0.0, 0.0])
            acc[0] += o.score
            acc[1] += 1
            sources[o.source] += 1
        if o.verdict is not None:
            verdicts.setdefault(o.verdict[0], []).append(o.verdict[1])
            verdict_meta.setdefault(o.verdict[0], (o.run_id, o.category))
    for answer, values in verdicts.items():  # one judged answer = one judge score (their mean)
        run_id, category = verdict_meta[answer]
        acc = scores.setdefault((run_id, answer[1], "judge", JUDGE_BENCH_PHASE, answer[2], category), [0.0, 0.0])
        acc[0] += sum(values) / len(values)
        acc[1] += 1
        sources["judge"] += 1
    return LineageEvidence(
        scores=[ScoreCell(run_id=k[0], model=k[1], source=k[2], phase=k[3], item_id=k[4], category=k[5], n=int(v[1]),
                          total=v[0]) for k, v in sorted(scores.items())],
        calls=[calls[k] for k in sorted(calls)], sources=dict(sorted(sources.items())))


def read_lineage(members: Sequence[Member], rubric_weights: Mapping[str, int]
                 ) -> tuple[LineageEvidence, dict[str, FileSig], dict[str, str]]:
    """The lineage's cells from its members (oldest first, later records win by key), the
    signature of each results file read, and the runs that could not be read (and why)."""
    winners: dict[RecordKey, _Outcome] = {}
    sigs: dict[str, FileSig] = {}
    unreadable: dict[str, str] = {}
    for member in sorted(members, key=lambda m: (m.created_at, m.run.run_id)):
        try:
            staged, sig = _read_member(member, rubric_weights)
        except InputError as exc:
            unreadable[member.run.run_id] = str(exc)
            continue
        winners.update(staged)
        sigs[member.run.run_id] = sig
    return _cells(winners), sigs, unreadable
