"""The section-state protocol: `summary_section` is fold + render, and states route by phase."""

from __future__ import annotations

from collections import Counter

from agents.phases import PHASES, section_states
from agents.phases.base import Phase
from archive.section_state import RecordView, fold_factories
from harness.records import CallRecord
from tests.section_checks import assert_halves_merge_alike


class CountByModel:
    """A minimal state: ok calls per model, last-added model shown first on ties."""

    def __init__(self, data: object = None) -> None:
        self.ok: Counter[str] = Counter(data if isinstance(data, dict) else {})

    def add(self, record: RecordView) -> None:
        if record.status == "ok":
            self.ok[record.model] += 1

    def merge(self, other: CountByModel) -> None:
        self.ok.update(other.ok)

    def render(self) -> str | None:
        return "\n".join(f"{m}: {n}" for m, n in sorted(self.ok.items())) or None

    def to_builtins(self) -> object:
        return dict(self.ok)


class CountingPhase(Phase):
    name = "counting"

    def section_state(self, data: object = None) -> CountByModel:
        return CountByModel(data)


def _rec(model: str, status: str = "ok", phase: str = "counting") -> CallRecord:
    return CallRecord(run_id="r", phase=phase, item_id="i", model=model, status=status)  # type: ignore[arg-type]


def test_summary_section_is_the_fold_rendered() -> None:
    records = [_rec("sim/a"), _rec("sim/b"), _rec("sim/a"), _rec("sim/a", "error")]
    assert CountingPhase().summary_section(records) == "sim/a: 2\nsim/b: 1"
    assert CountingPhase().summary_section([]) is None
    assert assert_halves_merge_alike(CountingPhase().section_state, records) == "sim/a: 2\nsim/b: 1"


def test_a_phase_without_a_section_has_no_state() -> None:
    class Plain(Phase):
        name = "plain"

    assert Plain().section_state() is None
    assert Plain().summary_section([_rec("sim/a", phase="plain")]) is None


def test_fold_factories_routes_records_by_phase() -> None:
    records = [_rec("sim/a"), _rec("sim/b", phase="other"), _rec("sim/c", phase="nosection"), _rec("sim/a")]
    states = fold_factories({"counting": CountingPhase().section_state, "other": CountingPhase().section_state,
                             "nosection": lambda data: None}, records)
    assert sorted(states) == ["counting", "other"]
    assert states["counting"].render() == "sim/a: 2"
    assert states["other"].render() == "sim/b: 1"


def test_every_registered_phase_has_a_factory() -> None:
    assert sorted(section_states()) == sorted(PHASES)
