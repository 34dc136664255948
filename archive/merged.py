"""The running merge over lineages (in root order), and its cached prefixes.

Why cached prefixes: the per-lineage cache spares reading records, but merging still loaded
every lineage's summary: 0.86 s of a warm aggregate over 477 lineages here, growing with the
archive. Lineages merge in root order and a new run's root sorts last (run ids start with
their creation time), so the merge of every lineage but the new one was already made last
time. Two prefixes are kept, each with the lineage cache keys it covers: the merge of all
lineages, and of all but the last. A new run (a new last lineage) continues the first; a
retry of the newest run (its lineage changed) continues the second; anything else (a retry
of an older run, a deleted run) matches a shorter prefix or none, and the lineages are
merged from their own cache entries as before.

Why the same bytes: a prefix is the `to_builtins` form of exactly the states that merging
its lineages in order produced (the section contract's restore rule), so continuing from it
merges the same values in the same order as merging every lineage afresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import msgspec

from archive.lineage import Lineage
from archive.lineage_fold import LineageSummary
from archive.section_state import SectionFactory, SectionState
from archive.stats import StatsFold


@dataclass
class Merged:
    """The merge so far: statistics, phase sections, the lineages' table rows and run counts,
    and the cache keys of the lineages merged (in order)."""

    stats: StatsFold = field(default_factory=StatsFold)
    sections: dict[str, SectionState] = field(default_factory=dict)
    lineages: list[Lineage] = field(default_factory=list)
    n_records: dict[str, int] = field(default_factory=dict)
    lineage_of: dict[str, str] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    folded: list[str] = field(default_factory=list)  # runs whose results were read this time (not stored)

    def add(self, summary: LineageSummary, key: str) -> None:
        self.lineages.append(Lineage(root=summary.root, runs=summary.runs, supplied=summary.supplied,
                                     records=summary.records, stats=summary.rows,
                                     missing_parent=summary.missing_parent))
        self.keys.append(key)
        self.n_records.update(summary.n_records)
        self.lineage_of.update(dict.fromkeys(summary.runs, summary.root))
        self.stats.merge(summary.stats)
        for phase, state in summary.sections.items():
            mine = self.sections.get(phase)
            if mine is None:
                self.sections[phase] = state  # the lineage's own state is not used again
            else:
                mine.merge(state)

    def to_bytes(self) -> bytes:
        encode = msgspec.msgpack.encode
        return encode(_Stored(keys=self.keys, lineages=self.lineages, n_records=self.n_records,
                              lineage_of=self.lineage_of, stats=msgspec.Raw(encode(self.stats.to_builtins())),
                              sections={phase: msgspec.Raw(encode(state.to_builtins()))
                                        for phase, state in self.sections.items()}))

    @classmethod
    def from_bytes(cls, data: bytes, factories: Mapping[str, SectionFactory]) -> Merged | None:
        """The stored merge, or None when it does not decode or a phase has no state now."""
        try:
            stored = msgspec.msgpack.decode(data, type=_Stored)
            sections: dict[str, SectionState] = {}
            for phase, raw in stored.sections.items():
                make = factories.get(phase)
                state = make(msgspec.msgpack.decode(raw)) if make is not None else None
                if state is None:
                    return None
                sections[phase] = state
            stats = StatsFold.from_builtins(msgspec.msgpack.decode(stored.stats))
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError):
            return None
        return cls(stats=stats, sections=sections, lineages=stored.lineages, n_records=stored.n_records,
                   lineage_of=stored.lineage_of, keys=stored.keys)


class _Stored(msgspec.Struct):
    keys: list[str]
    lineages: list[Lineage]
    n_records: dict[str, int]
    lineage_of: dict[str, str]
    stats: msgspec.Raw
    sections: dict[str, msgspec.Raw]
