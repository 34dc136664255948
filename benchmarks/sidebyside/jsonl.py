"""JSONL written by a process that may be killed mid-line (the mock, a tool's collector).

Why a torn last line is dropped and any other bad line is an error: a writer killed
mid-write can only tear the line it was writing; damage anywhere else means the file is
not what that writer wrote, and no figure should be computed from it.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

T = TypeVar("T")


def decode_lines(lines: list[bytes], decoder: msgspec.json.Decoder[T], what: str) -> list[T]:
    records: list[T] = []
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(decoder.decode(line))
        except msgspec.DecodeError:
            if index == len(lines) - 1:
                break
            raise ValueError(f"{what} line {index + 1}: not a record: {line[:80]!r}") from None
    return records
