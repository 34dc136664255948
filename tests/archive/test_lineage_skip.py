"""Within a lineage the latest record of a key wins, except that a retry run's `skipped`
record (no access this time) never hides the parent's failed call, in either reader."""

from __future__ import annotations

import json
from pathlib import Path

from archive.aggregate import AGGREGATE_JSON, aggregate
from archive.lineage import build_lineages, read_run
from archive.store import RunStore
from harness.records import CallRecord


def _record(run_id: str, item: str, status: str, error_class: str | None = None) -> CallRecord:
    return CallRecord(run_id=run_id, phase="baseline", item_id=item, model="openai/gpt-x", status=status,  # type: ignore[arg-type]
                      error_class=error_class)


def test_a_childs_skip_never_hides_the_parents_error(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    store = RunStore(runs)
    parent = store.create("parent", {"run_id": "parent", "created_at": "2026-03-01T10:00:00.000Z",
                                     "status": "completed", "parent_run": None})
    parent.append_records([_record("parent", "a", "error", "rate_limited"), _record("parent", "b", "error", "timeout"),
                           _record("parent", "c", "ok")])
    child = store.create("child", {"run_id": "child", "created_at": "2026-03-02T10:00:00.000Z",
                                   "status": "completed", "parent_run": "parent"})
    child.append_records([_record("child", "a", "skipped", "no_access"), _record("child", "b", "ok")])

    _, winners = build_lineages([read_run(r) for r in store.list_runs()])
    by_item = {r.item_id: (r.run_id, r.status) for r in winners}
    assert by_item == {"a": ("parent", "error"), "b": ("child", "ok"), "c": ("parent", "ok")}

    aggregate(runs)
    overall = json.loads((runs / AGGREGATE_JSON).read_text())["overall"]
    row = next(r for r in overall if r["model"] == "openai/gpt-x")
    assert (row["ok"], row["error"], row["skipped"]) == (2, 1, 0)
