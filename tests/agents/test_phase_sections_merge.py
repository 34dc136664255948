"""Every phase section folded in two parts (through the cache's form) and merged renders what
one fold over all its records renders: the aggregate merges lineages, a run folds once."""

from __future__ import annotations

import pytest

from agents.phases import make_phase
from tests.section_checks import assert_halves_merge_alike
from tests.section_records import CASES, records_for


@pytest.mark.parametrize("phase", sorted(CASES))
def test_halves_merged_render_like_one_fold(phase: str) -> None:
    records = records_for(phase)
    text = assert_halves_merge_alike(make_phase(phase).section_state, records)
    assert text  # a real section, not an empty one
    assert make_phase(phase).summary_section(records) == text
