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

import threading
from array import array
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from io import BufferedReader
from pathlib import Path

import msgspec
import numpy as np
import xxhash

from archive.fold_record import FoldRecord, decode_fold_record, hash_file
from archive.lineage import RunMeta, winner_rank
from archive.results_log import KeyFields
from archive.section_state import RecordView, SectionFactory, SectionState
from archive.stats import PhaseModelStats, StatsFold
from harness.errors import InputError

_decode_key = msgspec.json.Decoder(KeyFields).decode  # just the key, for the passes that compare keys
_decode_lines = msgspec.json.Decoder(FoldRecord).decode_lines
_BLOCK = 1 << 20  # bytes read and decoded at a time (~1,000 records): bounded memory, few calls


class UnreadableRun(Exception):
    """A run's results file has a corrupt line; the aggregate leaves the run out."""

    def __init__(self, run_id: str, error: InputError) -> None:
        super().__init__(str(error))
        self.run_id = run_id
        self.reason = str(error)
        self.error = error  # names the file and line


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
    """(byte offset, line) of each line in the first `size` bytes of a run's results, for the
    passes that compare keys."""
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
    return UnreadableRun(meta.run_id, InputError(f"{meta.results}:{number}", f"corrupt record: {exc}"))


def _records(meta: RunMeta, size: int, update: Callable[[memoryview], object]) -> Iterator[list[FoldRecord]]:
    """The decoded records of the first `size` bytes of a run's results, a block at a time;
    `update` sees every byte read, in order (the content hash).

    Why blocks: `Decoder.decode_lines` decodes a block of lines in one call, and the hash
    takes one update per block. The blocks are read into one reused buffer and decoded in
    place: a fresh 1 MB bytes object per block, and a copy of it, cost 0.08 s per 100k
    records here (page faults and copying), a third of the decode itself. The line a block
    ends inside moves to the buffer's front. A block whose record count differs from its
    line count (a blank line, or two records on one line, which `decode_lines` would accept)
    or that fails to decode is decoded again line by line, which keeps the per-line rules
    exact: blank lines skipped, a corrupt line named by its number, a torn final line (no
    newline) ignored."""
    if size <= 0:
        return
    reader = _reader()
    reader.filled = 0
    with open(meta.results, "rb") as fh:
        remaining, offset = size, 0
        while remaining > 0:
            got = reader.fill(fh, remaining)
            if got == 0:
                break
            update(reader.view[reader.filled - got: reader.filled])
            remaining -= got
            cut = reader.filled if remaining <= 0 else reader.buffer.rfind(b"\n", 0, reader.filled) + 1
            if cut > 0:
                yield _decode_block(meta, reader, cut, offset)
                offset += cut
            reader.keep_from(cut)
        if reader.filled:  # the file ended (shorter than `size`) inside a line
            yield _decode_block(meta, reader, reader.filled, offset)


_local = threading.local()


def _reader() -> _BlockReader:
    """This thread's block reader, made once: a fresh 1 MB buffer per lineage (zeroed, then
    faulted in) cost 2% of a cold aggregate over 477 lineages. Files are read one after
    another (a `_records` is finished before the next starts), so one buffer serves all."""
    reader: _BlockReader | None = getattr(_local, "reader", None)
    if reader is None or reader.block != _BLOCK:
        reader = _local.reader = _BlockReader(_BLOCK)
    return reader


class _BlockReader:
    """A reusable read buffer: `buffer[:filled]` holds unread-by-decode bytes."""

    def __init__(self, size: int) -> None:
        self.block = size
        self.buffer = bytearray(size)
        self.view = memoryview(self.buffer)
        self.newline = np.empty(size, dtype=bool)
        self.filled = 0

    def fill(self, fh: BufferedReader, limit: int) -> int:
        """Read up to `limit` more bytes after the kept ones (growing the buffer when one line
        fills it); the bytes read."""
        if self.filled == len(self.buffer):
            self.view.release()
            self.buffer.extend(bytes(len(self.buffer)))
            self.view = memoryview(self.buffer)
            self.newline = np.empty(len(self.buffer), dtype=bool)
        got = fh.readinto(self.view[self.filled: self.filled + min(len(self.buffer) - self.filled, limit)])
        self.filled += got or 0
        return got or 0

    def lines(self, end: int) -> int:
        """Lines in `buffer[:end]`, a final one without its newline included. numpy counts
        newlines 3x faster than bytes.count (0.018 s against 0.052 s per 100 MB here)."""
        found = np.equal(np.frombuffer(self.buffer, np.uint8, end), 0x0A, out=self.newline[:end])
        return int(np.count_nonzero(found)) + (end > 0 and self.buffer[end - 1] != 0x0A)

    def keep_from(self, cut: int) -> None:
        """Move `buffer[cut:filled]` to the front."""
        tail = self.filled - cut
        if tail and cut:
            self.buffer[:tail] = self.buffer[cut:self.filled]
        self.filled = tail


def _decode_block(meta: RunMeta, reader: _BlockReader, end: int, offset: int) -> list[FoldRecord]:
    """The records in the reader's first `end` bytes (whole lines, but for a torn final one),
    which begin at byte `offset` of the file."""
    try:
        records = _decode_lines(reader.view[:end])
    except msgspec.DecodeError:
        records = None
    if records is not None and len(records) == reader.lines(end):
        return records
    out = []
    for line in bytes(reader.view[:end]).splitlines(keepends=True):
        try:
            out.append(decode_fold_record(line))
        except msgspec.DecodeError as exc:
            if not line.strip():
                pass
            elif not line.endswith(b"\n"):  # the final line, without its newline: a torn write
                break
            else:
                raise _bad(meta, line_number(meta.results, offset), exc) from None
        offset += len(line)
    return out


def _fold(root: str, members: list[RunMeta], sizes: Mapping[str, int], factories: Mapping[str, SectionFactory],
          reads: dict[str, FileRead], hashes: array[int] | None, losers: set[int] | None,
          missing_parent: str | None) -> LineageSummary:
    """One pass folding every record but those at `losers` positions (lineage order); appends
    each folded record's key hash to `hashes` when given."""
    stats = StatsFold()
    sections: dict[str, SectionState] = {}
    adders: dict[str, object] = {}
    counts = {m.run_id: 0 for m in members}
    supplied = dict(counts)
    position = 0
    for meta in members:
        decoded = kept = 0
        size = sizes[meta.run_id]
        hasher = xxhash.xxh3_128() if meta.run_id not in reads else None
        update = hasher.update if hasher is not None else _no_update
        for block in _records(meta, size, update):
            decoded += len(block)
            if losers is not None:
                first = position
                position += len(block)
                block = [r for i, r in enumerate(block, first) if i not in losers]
            kept += len(block)
            if hashes is not None:
                hashes.extend([hash((r.phase, r.item_id, r.model, r.variant, r.repeat)) for r in block])
            stats.add_all(block)
            phase, add = None, None
            for r in block:  # a run's records come phase by phase: one lookup per change
                if r.phase != phase:
                    phase = r.phase
                    add = adders.get(phase, _MISSING)
                    if add is _MISSING:
                        add = adders[phase] = _section_adder(phase, factories, sections)
                if add is not None:
                    add(r)  # type: ignore[operator]
        if hasher is not None:
            reads[meta.run_id] = FileRead(size=size, digest=hasher.hexdigest())
        counts[meta.run_id], supplied[meta.run_id] = decoded, kept
    return LineageSummary(root=root, runs=[m.run_id for m in members], n_records=counts, supplied=supplied,
                          records=sum(supplied.values()), stats=stats, sections=sections,
                          missing_parent=missing_parent, rows=stats.rows())


def _no_update(data: memoryview) -> None:
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
