"""A run's results.jsonl as the collector writes it: durable appends, cut back after a
partial write, and a fast scan of which keys are already there.

Why the cut-back: a write that fails half way (disk full, EIO) can leave a partial line;
appending after it would glue the next record onto garbage. The log remembers the size
of its last durable append and truncates to it before writing again. Why a key scan of
its own: a restarted collector must learn every key already written, and decoding five
fields per line is several times cheaper than decoding whole records with their outputs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import msgspec

from archive.store import fsync_dir
from harness.records import CallRecord, RecordKey, encode_line, record_key

SCAN_CHUNK = 1 << 20


class KeyFields(msgspec.Struct):
    """Just what a collector needs from each existing line."""

    phase: str
    item_id: str
    model: str
    status: str
    variant: str = ""
    repeat: int = 0

    @property
    def key(self) -> RecordKey:
        return record_key(self.phase, self.item_id, self.model, self.variant, self.repeat)


_key_decoder = msgspec.json.Decoder(KeyFields)


class ResultsLog:
    """Append-only records file with a known good size. Single writer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.good_size = path.stat().st_size if path.exists() else 0

    def scan(self) -> Iterator[KeyFields]:
        """Key fields of every whole line, in file order, streaming (bounded memory)."""
        if not self.path.exists():
            return
        with open(self.path, "rb") as fh:
            rest = b""
            while chunk := fh.read(SCAN_CHUNK):
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
                for line in lines:
                    if line.strip():
                        yield _key_decoder.decode(line)

    def append(self, records: Sequence[CallRecord]) -> None:
        """One write, flushed and fsync'd before returning: returned means durable. On
        failure the file is cut back to its last good size (best effort) and the error
        raised; the next append cuts back again first, so no partial line survives."""
        if not records:
            return
        payload = b"".join(encode_line(r) for r in records)
        new_file = not self.path.exists()
        try:
            with open(self.path, "r+b" if not new_file else "wb") as fh:
                fh.truncate(self.good_size)
                fh.seek(self.good_size)
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError:
            self._cut_back()
            raise
        self.good_size += len(payload)
        if new_file:
            fsync_dir(self.path.parent)

    def _cut_back(self) -> None:
        try:
            with open(self.path, "r+b") as fh:
                fh.truncate(self.good_size)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError:
            pass  # the next append truncates first anyway
