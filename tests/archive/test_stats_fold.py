"""The statistics fold: merging folded halves (through the cache's form) gives the same rows."""

from __future__ import annotations

import random

import msgspec

from archive.latency import EXACT_LIMIT, SKETCH_NOTE
from archive.stats import StatsFold, summarize
from archive.stats_md import render_run_summary
from harness.records import CallRecord


def _records(n: int, seed: int = 3) -> list[CallRecord]:
    rng = random.Random(seed)
    out: list[CallRecord] = []
    for i in range(n):
        status = rng.choice(["ok", "ok", "ok", "error", "skipped"])
        out.append(CallRecord(
            run_id="r", phase=rng.choice(["baseline", "tool-use"]), item_id=f"i{i}", model=rng.choice(["sim/a", "sim/b"]),
            variant=rng.choice(["", "few-shot"]), status=status,  # type: ignore[arg-type]
            error_class=rng.choice(["timeout", None]) if status == "error" else None,
            ttft_ms=rng.uniform(1, 500) if status == "ok" and rng.random() < 0.9 else None,
            e2e_ms=rng.uniform(100, 5000) if status == "ok" else None,
            input_tokens=rng.randint(0, 900), output_tokens=rng.choice([None, 12, 40]),
            cost_usd=rng.choice([None, 0.25, 0.5])))
    return out


def _round_trip(fold: StatsFold) -> StatsFold:
    return StatsFold.from_builtins(msgspec.msgpack.decode(msgspec.msgpack.encode(fold.to_builtins())))


def test_halves_merged_equal_the_whole() -> None:
    records = _records(400)
    whole = summarize(records)
    for cut in (0, 1, 137, 399, 400):
        left, right = StatsFold(), StatsFold()
        for r in records[:cut]:
            left.add(r)
        for r in records[cut:]:
            right.add(r)
        merged = _round_trip(left)
        merged.merge(_round_trip(right))
        assert merged.rows() == whole


def test_success_interval_is_wilson_and_never_zero_width() -> None:
    records = [CallRecord(run_id="r", phase="p", item_id=f"i{i}", model="m", status="ok") for i in range(2)]
    (row,) = summarize(records)
    assert row.success_rate == 1.0 and row.success_hi == 1.0
    assert row.success_lo is not None and 0.1 < row.success_lo < 0.5  # 2 of 2 proves little
    (skipped,) = summarize([CallRecord(run_id="r", phase="p", item_id="i", model="m", status="skipped")])
    assert skipped.success_rate is None and skipped.success_lo is None


def test_a_run_summary_states_the_sketch_only_when_it_may_apply() -> None:
    def many(n: int) -> list[CallRecord]:
        return [CallRecord(run_id="r", phase="p", item_id=f"i{i}", model="m", status="ok", ttft_ms=float(i % 997) + 1,
                           e2e_ms=float(i % 1009) + 5) for i in range(n)]

    assert SKETCH_NOTE not in render_run_summary({"run_id": "r"}, many(50))
    big = render_run_summary({"run_id": "r"}, many(EXACT_LIMIT + 1))
    assert SKETCH_NOTE in big and "| m | 16385 | 16385 |" in big
