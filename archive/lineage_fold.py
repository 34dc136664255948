"""Fold one lineage's results files into statistics and phase-section states, streaming.

Why streaming with key hashes: the latest record per key wins within a lineage, and holding
every key of a large lineage as tuples costs ~150 bytes each. Instead each record's key is
reduced to a 64-bit hash (8 bytes); when the hashes are all distinct (every single run, since
the collector writes one record per key) the one pass that folded them is the answer. When
some hashes repeat (a retry run re-does its parent's keys, or a damaged file repeats one),
only the records with a repeated hash are decoded again to compare their exact keys, and a
last pass folds the winners. A hash collision costs a pass, never a wrong count.

Records fold in the order of their winning lines (a retry's record at its own run's place);
`build_lineages` orders winners by each key's first appearance instead. Counts, sums and
percentiles are the same either way.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np
import xxhash

from archive.fold_record import decode_fold_record, hash_file
from archive.lineage import RunMeta, winner_rank
from archive.results_log import KeyFields
from archive.section_state import RecordView, SectionFactory, SectionState
from archive.stats import PhaseModelStats, StatsFold
from harness.errors import InputError

_decode_key = msgspec.json.Decoder(KeyFields).decode  # just the key, for the passes that compare keys


class UnreadableRun(Exception):
    """A run's results file has a corrupt line; the aggregate leaves the run out."""

    def __init__(self, run_id: str, reason: str) -> None:
        super().__init__(reason)
        self.run_id = run_id
        self.reason = reason


@dataclass
class LineageSummary:
    """What the aggregate keeps of a lineage: per run counts, the folded statistics and
    sections, and the table rows of its own statistics."""

    root: str
    runs: list[str]
    n_records: dict[str, int]
    supplied: dict[str, int]
    records: int
    stats: StatsFold
    sections: dict[str, SectionState]
    missing_parent: str | None = None
    rows: list[PhaseModelStats] = field(default_factory=list)


@dataclass
class FileRead:
    """A results file as read: the bytes covered and their content hash (xxh3-128)."""

    size: int
    digest: str


Key = tuple[str, str, str, str, int]
_MISSING = object()


def fold_lineage(root: str, members: list[RunMeta], sizes: Mapping[str, int],
                 factories: Mapping[str, SectionFactory], missing_parent: str | None = None
                 ) -> tuple[LineageSummary, dict[str, FileRead]]:
    """Fold the lineage's runs (in lineage order), reading the first `sizes[run_id]` bytes of
    each results file; returns the summary and each file's read (size, content hash).
    Raises UnreadableRun for a corrupt line."""
    reads: dict[str, FileRead] = {}
    hashes = array("q")
    if len(members) == 1:
        summary = _fold(root, members, sizes, factories, reads, hashes, None, missing_parent)
        if _distinct(hashes):
            return summary, reads
    else:
        _key_pass(members, sizes, reads, hashes)
    losers = _losers(members, sizes, hashes)
    return _fold(root, members, sizes, factories, reads, None, losers, missing_parent), reads


def _lines(meta: RunMeta, size: int) -> Iterator[tuple[int, bytes]]:
    """(byte offset, line) of each line in the first `size` bytes of a run's results (the
    fold pass inlines this loop)."""
    if size <= 0:
        return
    with open(meta.results, "rb") as fh:
        end = 0
        for line in fh:
            start = end
            end += len(line)
            if end > size:
                if start >= size:
                    return
                line = line[: size - start]
            yield start, line


def line_number(path: Path, offset: int) -> int:
    """The 1-based number of the line starting at byte `offset`."""
    with open(path, "rb") as fh:
        return fh.read(offset).count(b"\n") + 1


def _bad(meta: RunMeta, number: int, exc: Exception) -> UnreadableRun:
    return UnreadableRun(meta.run_id, str(InputError(f"{meta.results}:{number}", f"corrupt record: {exc}")))


def _fold(root: str, members: list[RunMeta], sizes: Mapping[str, int], factories: Mapping[str, SectionFactory],
          reads: dict[str, FileRead], hashes: array[int] | None, losers: set[int] | None,
          missing_parent: str | None) -> LineageSummary:
    """One pass folding every record but those at `losers` positions (lineage order); appends
    each folded record's key hash to `hashes` when given."""
    stats = StatsFold()
    stats_add = stats.add
    sections: dict[str, SectionState] = {}
    adders: dict[str, object] = {}
    counts = {m.run_id: 0 for m in members}
    supplied = dict(counts)
    decode = decode_fold_record
    position = 0
    for meta in members:
        decoded = kept = 0
        size = sizes[meta.run_id]
        hasher = xxhash.xxh3_128() if meta.run_id not in reads else None
        update = hasher.update if hasher is not None else _no_update
        with open(meta.results, "rb") if size > 0 else nullcontext(iter(())) as fh:
            end = 0
            for line in fh:  # io's C line iterator: faster here than splitting read blocks
                start = end
                end += len(line)
                if end > size:  # the bytes the key covers end inside (or before) this line
                    if start >= size:
                        break
                    line = line[: size - start]
                update(line)  # the content hash, from the same bytes (a second read cost 0.3 s per 1M records)
                try:
                    r = decode(line)
                except msgspec.DecodeError as exc:
                    if not line.strip():
                        continue
                    if not line.endswith(b"\n"):  # the final line, without its newline: a torn write
                        break
                    raise _bad(meta, line_number(meta.results, start), exc) from None
                decoded += 1
                if losers is not None:
                    position += 1
                    if position - 1 in losers:
                        continue
                kept += 1
                if hashes is not None:
                    hashes.append(hash((r.phase, r.item_id, r.model, r.variant, r.repeat)))
                stats_add(r)
                add = adders.get(r.phase, _MISSING)
                if add is _MISSING:
                    add = adders[r.phase] = _section_adder(r.phase, factories, sections)
                if add is not None:
                    add(r)  # type: ignore[operator]
        if hasher is not None:
            reads[meta.run_id] = FileRead(size=size, digest=hasher.hexdigest())
        counts[meta.run_id], supplied[meta.run_id] = decoded, kept
    return LineageSummary(root=root, runs=[m.run_id for m in members], n_records=counts, supplied=supplied,
                          records=sum(supplied.values()), stats=stats, sections=sections,
                          missing_parent=missing_parent, rows=stats.rows())


def _no_update(data: bytes) -> None:
    """The hasher's stand-in on passes that do not hash."""


def _section_adder(phase: str, factories: Mapping[str, SectionFactory],
                   sections: dict[str, SectionState]) -> Callable[[RecordView], None] | None:
    make = factories.get(phase)
    state = make(None) if make is not None else None
    if state is None:
        return None
    sections[phase] = state
    return state.add


def _distinct(hashes: array[int]) -> bool:
    values = np.frombuffer(hashes, dtype=np.int64)
    ordered = np.sort(values)
    return not bool(np.any(ordered[1:] == ordered[:-1]))


def _repeated_positions(hashes: array[int]) -> set[int]:
    """Positions whose key hash occurs more than once."""
    values = np.frombuffer(hashes, dtype=np.int64)
    order = np.argsort(values, kind="stable")
    same = values[order][1:] == values[order][:-1]
    repeated = np.zeros(len(values), dtype=bool)
    repeated[1:] |= same
    repeated[:-1] |= same
    return set(order[repeated].tolist())


def _keys(meta: RunMeta, size: int) -> Iterator[tuple[tuple[str, str, str, str, int], str] | None]:
    """Each line's record key and status (None for a blank line), with the fold's torn-tail rule."""
    for start, line in _lines(meta, size):
        try:
            k = _decode_key(line)
        except msgspec.DecodeError as exc:
            if not line.strip():
                yield None
                continue
            if not line.endswith(b"\n"):
                return
            raise _bad(meta, line_number(meta.results, start), exc) from None
        yield k.key, k.status


def _key_pass(members: list[RunMeta], sizes: Mapping[str, int], reads: dict[str, FileRead],
              hashes: array[int]) -> None:
    for meta in members:
        size = sizes[meta.run_id]
        reads[meta.run_id] = FileRead(size=size, digest=hash_file(meta.results, size))
        hashes.extend(hash(entry[0]) for entry in _keys(meta, size) if entry is not None)


def _losers(members: list[RunMeta], sizes: Mapping[str, int], hashes: array[int]) -> set[int]:
    """Positions (lineage order) of records that lose to another of the same exact key:
    the latest record wins, except that a `skipped` one never hides an earlier call's
    result (see `winner_rank`). Only the keys whose hash repeats are kept while comparing."""
    suspects = _repeated_positions(hashes)
    best: dict[Key, tuple[int, int]] = {}
    position = 0
    for meta in members:
        for entry in _keys(meta, sizes[meta.run_id]):
            if entry is None:
                continue
            if position in suspects:
                key, status = entry
                rank = (winner_rank(status), position)
                if key not in best or rank >= best[key]:
                    best[key] = rank
            position += 1
    return suspects - {position for _, position in best.values()}
