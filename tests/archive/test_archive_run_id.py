"""Run IDs sort by time, never repeat, and unsafe user IDs are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from archive.run_id import GENERATED_RE, new_run_id, run_date, validate_run_id
from harness.errors import InputError


def test_shape_and_utc() -> None:
    local = datetime(2026, 11, 22, 8, 13, 55, 123456, tzinfo=timezone(timedelta(hours=1)))
    run_id = new_run_id(local)
    assert run_id.startswith("20261122T071355123Z-")
    assert GENERATED_RE.match(run_id)
    assert validate_run_id(run_id) == run_id


def test_lexical_order_is_time_order() -> None:
    start = datetime(2026, 1, 31, 23, 59, 59, 998000, tzinfo=UTC)
    times = [start + timedelta(milliseconds=n) for n in (0, 1, 2, 1000, 86_400_000)]
    ids = [new_run_id(t) for t in times]
    assert sorted(ids) == ids


def test_unique_over_10k_even_in_one_millisecond() -> None:
    assert len({new_run_id() for _ in range(10_000)}) == 10_000
    fixed = datetime(2026, 5, 1, tzinfo=UTC)
    assert len({new_run_id(fixed) for _ in range(10_000)}) == 10_000


@pytest.mark.parametrize("text", ["nightly-3", "a", "exp_1.2", "X" * 100])
def test_user_ids_accepted(text: str) -> None:
    assert validate_run_id(text) == text


@pytest.mark.parametrize("text", ["", "../x", "a/b", "a..b", ".hidden", "-x", "X" * 101, "a b", "run\n", "é"])
def test_unsafe_ids_refused(text: str) -> None:
    with pytest.raises(InputError) as info:
        validate_run_id(text)
    assert info.value.where == "--run-id"


def test_run_date() -> None:
    assert run_date("20261122T235959999Z-abcdef") == "2026-11-22"
    assert run_date("custom", "2026-03-04T01:02:03.000Z") == "2026-03-04"
    assert run_date("custom", datetime(2026, 3, 4, 23, 30, tzinfo=timezone(timedelta(hours=-2)))) == "2026-03-05"
    assert len(run_date("custom")) == 10
