"""Checks every mergeable phase section must pass (see archive/section_state.py).

Why a shared helper: the aggregate folds each lineage separately, caches the state in its
builtins form and merges the states; a section that renders differently that way than from
one fold over all records would make the aggregate disagree with the runs' summaries.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from archive.section_state import RecordView, SectionFactory, SectionState, fold


def round_trip(make: SectionFactory, state: SectionState) -> SectionState:
    """The state after the cache's msgpack round trip (bytes, int keys and all)."""
    data = msgspec.msgpack.decode(msgspec.msgpack.encode(state.to_builtins()))
    restored = make(data)
    assert restored is not None
    return restored


def fold_in_parts(make: SectionFactory, records: Sequence[RecordView], cut: int) -> SectionState:
    """Records [:cut] and [cut:] folded apart, each round-tripped, then merged in order."""
    first, second = make(None), make(None)
    assert first is not None and second is not None
    merged = round_trip(make, fold(first, records[:cut]))
    merged.merge(round_trip(make, fold(second, records[cut:])))
    return merged


def assert_halves_merge_alike(make: SectionFactory, records: Sequence[RecordView]) -> str | None:
    """Folding all records, and folding them in two parts (every cut, or ~10 cuts for long
    inputs) then merging, render the same text; returns that text."""
    whole = make(None)
    assert whole is not None
    expected = fold(whole, records).render()
    step = max(1, len(records) // 10)
    for cut in sorted({*range(0, len(records) + 1, step), len(records) // 2, len(records)}):
        assert fold_in_parts(make, records, cut).render() == expected, f"cut at {cut} renders differently"
    return expected
