"""Mergeable phase sections: a phase's own summary section as a state folded one record at a
time, merged with other states, rendered at the end.

Why a state and not `summary_section(records)`: the aggregate renders every phase's section
over all runs, and a list of every record grows with the archive. A state holds only what its
section shows (counts, sums, latency summaries), so memory is bounded by the section's size;
one state per lineage can be cached in its builtins form, so after a new run only that run's
records are read and the cached states are merged. A run's `summary_section(records)` is the
same fold followed by `render()`: the run summary and the aggregate share one code path.

The contract every phase's state keeps:
- `add(record)`: fold one terminal record of the phase (callers route records by phase).
- `merge(other)`: fold in another state of the same phase *as if its records had been added
  after this state's records*. Whatever rendering depends on order (last value wins for a
  key, insertion order) must follow that rule, so folding records in two halves and merging
  renders what folding them all renders (tests/section_checks.py checks it per phase; only
  float sums may differ in their last bit, which rendered digits do not show).
- `render()`: the markdown section, or None to keep just the stats table; it never mutates.
- `to_builtins()`: msgspec-encodable builtins (dict with str or int keys, list, str, int,
  float, bool, None, bytes); the phase restores it with `section_state(data)`.

States read records through `RecordView`, the fields a section may use, so the aggregate can
decode only those fields from the archive (cheaper than a whole `CallRecord`, which also
satisfies the view). A section that needs another field adds it to `RecordView` and to the
aggregate's decoded record type (`archive/fold_record.py`); an `extra` key it reads joins
`FoldExtra` there (reading one it lacks raises AttributeError, so a forgotten one cannot read as absent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol, Self, TypeVar, overload


class ExtraFields(Protocol):
    """The read side of `CallRecord.extra` that sections use: a dict satisfies it, and so does
    the aggregate's decoded subset (`archive.fold_record.FoldExtra`)."""

    @overload
    def get(self, key: str, /) -> object: ...
    @overload
    def get(self, key: str, default: object, /) -> object: ...
    def __getitem__(self, key: str, /) -> object: ...
    def __contains__(self, key: object, /) -> bool: ...


class RecordView(Protocol):
    """The record fields sections and statistics read (a read-only view of `CallRecord`)."""

    @property
    def phase(self) -> str: ...
    @property
    def item_id(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def variant(self) -> str: ...
    @property
    def repeat(self) -> int: ...
    @property
    def category(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def error_class(self) -> str | None: ...
    @property
    def ttft_ms(self) -> float | None: ...
    @property
    def e2e_ms(self) -> float | None: ...
    @property
    def itl_p50_ms(self) -> float | None: ...
    @property
    def first_token_ms(self) -> float | None: ...
    @property
    def reasoning_ms(self) -> float | None: ...
    @property
    def input_tokens(self) -> int | None: ...
    @property
    def output_tokens(self) -> int | None: ...
    @property
    def reasoning_tokens(self) -> int | None: ...
    @property
    def cost_usd(self) -> float | None: ...
    @property
    def extra(self) -> ExtraFields: ...


class SectionState(Protocol):
    """A phase section being folded; see the module docstring for the contract."""

    def add(self, record: RecordView) -> None: ...

    def merge(self, other: Self) -> None: ...

    def render(self) -> str | None: ...

    def to_builtins(self) -> object: ...


# phase name -> its state factory: `make(None)` is a fresh state, `make(data)` restores
# `to_builtins()` output; a phase without a section returns None
SectionFactory = Callable[[object], SectionState | None]

S = TypeVar("S", bound=SectionState)


def fold(state: S, records: Iterable[RecordView]) -> S:
    """Add every record to `state`; returns it, for `fold(make(None), records).render()`."""
    add = state.add
    for record in records:
        add(record)
    return state


def fold_factories(factories: Mapping[str, SectionFactory], records: Iterable[RecordView]
                   ) -> dict[str, SectionState]:
    """One fresh state per phase that has records and a section, each fed its phase's records."""
    states: dict[str, SectionState] = {}
    skipped: set[str] = set()
    for record in records:
        state = states.get(record.phase)
        if state is None:
            if record.phase in skipped:
                continue
            make = factories.get(record.phase)
            made = make(None) if make is not None else None
            if made is None:
                skipped.add(record.phase)
                continue
            state = states[record.phase] = made
        state.add(record)
    return states
