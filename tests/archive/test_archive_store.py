"""The run store: layout, refusal of reused or escaping IDs, durable appends, torn tails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from archive.manifest import build_manifest
from archive.store import RunStore
from harness.errors import InputError
from harness.records import CallRecord, encode_line

MANIFEST = {"run_id": "r1", "created_at": "2026-11-22T07:13:55.123Z", "status": "running"}


def _record(item: str, status: str = "ok", run_id: str = "r1") -> CallRecord:
    return CallRecord(run_id=run_id, phase="baseline", item_id=item, model="sim/fast", status=status)  # type: ignore[arg-type]


def test_create_layout_and_find(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    run = store.create("r1", dict(MANIFEST))
    assert run.path == tmp_path.resolve() / "2026-11-22" / "r1"
    assert run.manifest_path.is_file() and run.read_manifest()["status"] == "running"
    assert run.results_path.name == "results.jsonl" and run.events_path.name == "events.jsonl"
    assert run.summary_path.name == "summary.md"
    assert store.find("r1").path == run.path
    run.update_manifest(status="completed", records=3)
    assert run.read_manifest() == {**MANIFEST, "status": "completed", "records": 3}
    assert not list(run.path.glob(".*tmp*")), "atomic writes leave no temp files"


def test_refuses_existing_id_across_dates(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.create("r1", dict(MANIFEST))
    with pytest.raises(InputError) as info:
        store.create("r1", {**MANIFEST, "created_at": "2027-01-01T00:00:00.000Z"})
    assert info.value.where == "--run-id"
    assert info.value.message == "run r1 already exists; use --resume r1"


def test_find_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no run 'ghost'"):
        RunStore(tmp_path).find("ghost")


def test_path_escape_refused(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    with pytest.raises(InputError):
        store.create("../x", dict(MANIFEST))
    with pytest.raises(InputError):
        store.find("../x")
    assert not (tmp_path / "x").exists()


def test_symlink_escape_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "manifest.json").write_text("{}")
    store = RunStore(tmp_path / "runs")
    (tmp_path / "runs" / "2026-11-22").mkdir(parents=True)
    os.symlink(outside, tmp_path / "runs" / "2026-11-22" / "evil")
    with pytest.raises(InputError, match="leaves the run store"):
        store.find("evil")
    with pytest.raises(InputError, match="leaves the run store"):
        store.list_runs()


def test_list_runs_sorted_and_ignores_other_files(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.create("b", {**MANIFEST, "created_at": "2026-01-01T00:00:00Z"})
    store.create("a", {**MANIFEST, "created_at": "2026-02-01T00:00:00Z"})
    (tmp_path / "aggregate.json").write_text("{}")
    (tmp_path / "2026-03-01" / "not-a-run").mkdir(parents=True)
    assert [r.run_id for r in store.list_runs()] == ["a", "b"]
    assert RunStore(tmp_path / "missing").list_runs() == []


def test_append_load_done_keys(tmp_path: Path) -> None:
    run = RunStore(tmp_path).create("r1", dict(MANIFEST))
    assert run.load_records() == [] and run.repair_results() == 0
    run.append_records([_record("a"), _record("b", "error")])
    run.append_records([_record("c", "skipped")])
    assert [r.item_id for r in run.load_records()] == ["a", "b", "c"]
    assert run.done_keys() == {("baseline", i, "sim/fast", "", 0) for i in "abc"}


def test_torn_tail_is_repaired(tmp_path: Path) -> None:
    run = RunStore(tmp_path).create("r1", dict(MANIFEST))
    run.append_records([_record("a"), _record("b")])
    torn = encode_line(_record("c"))[:25]
    with open(run.results_path, "ab") as fh:
        fh.write(torn)
    assert [r.item_id for r in run.load_records()] == ["a", "b"]  # readers skip it
    assert run.repair_results() == len(torn)
    assert run.repair_results() == 0
    assert run.results_path.read_bytes().endswith(b"\n")
    run.append_records([_record("c")])
    assert [r.item_id for r in run.load_records()] == ["a", "b", "c"]


def test_complete_tail_missing_only_newline_is_kept(tmp_path: Path) -> None:
    run = RunStore(tmp_path).create("r1", dict(MANIFEST))
    run.results_path.write_bytes(encode_line(_record("a")) + encode_line(_record("b"))[:-1])
    assert run.repair_results() == 0
    assert [r.item_id for r in run.load_records()] == ["a", "b"]


def test_corruption_in_the_middle_names_the_line(tmp_path: Path) -> None:
    run = RunStore(tmp_path).create("r1", dict(MANIFEST))
    run.results_path.write_bytes(encode_line(_record("a")) + b"{garbage\n" + encode_line(_record("b")))
    with pytest.raises(InputError) as info:
        run.load_records()
    assert info.value.where == f"{run.results_path}:2"


def test_manifest_contents(tmp_path: Path) -> None:
    manifest = build_manifest("r9", config={"concurrency": 8}, suites=[("smoke", tmp_path / "s.yaml", "ab" * 32)],
                              models=["sim/fast"], phases=["baseline"], parent_run=None, argv=["fleetbench", "run"])
    assert manifest["status"] == "running" and manifest["created_at"].endswith("Z")
    assert manifest["suites"][0] == {"name": "smoke", "path": str(tmp_path / "s.yaml"), "sha256": "ab" * 32}
    assert manifest["versions"]["pydantic"] and manifest["versions"]["msgspec"]
    assert "claude-agent-sdk" in manifest["versions"]
    assert manifest["git_revision"] is None or len(manifest["git_revision"]) == 40
    assert manifest["python"].count(".") == 2 and manifest["hostname"]
    run = RunStore(tmp_path).create("r9", manifest)
    assert run.read_manifest() == manifest
