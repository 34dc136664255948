"""The streaming, cached aggregate against the in-memory lineage rules, and its cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import msgspec
import pytest

from agents.phases import section_hooks, section_states
from archive import lineage_fold
from archive.aggregate import AGGREGATE_JSON, AGGREGATE_MD, aggregate
from archive.aggregate_cache import CACHE_DIR, PREFIXES, AggregateCache
from archive.lineage import build_lineages, read_run
from archive.stats import summarize
from archive.store import RunDir, RunStore
from harness.records import CallRecord, encode_line
from tests.section_records import records_for

# every section is order-free (tool-use's intervals are closed-form, no resampling)
PHASES = ["baseline", "claude-runs", "long-context", "streaming-ttft", "stages", "calibration", "judge-bench",
          "tool-use"]


def _run(store: RunStore, run_id: str, day: int, records: list[CallRecord], parent: str | None = None) -> RunDir:
    created = f"2026-03-{day:02d}T10:00:00.000Z"
    run = store.create(run_id, {"run_id": run_id, "created_at": created, "status": "completed",
                                "parent_run": parent, "phases": [], "models": []})
    run.append_records([msgspec.structs.replace(r, run_id=run_id) for r in records])
    return run


def _flip(records: list[CallRecord], every: int) -> list[CallRecord]:
    """Every `every`-th record again, now failed (a retry's or a duplicate's different answer)."""
    return [msgspec.structs.replace(r, status="error", error_class="timeout", extra={}, ttft_ms=None, e2e_ms=None)
            for r in records[::every]]


def _archive(tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    store = RunStore(runs)
    base = [r for phase in PHASES for r in records_for(phase, n=60)]
    _run(store, "r01-root", 1, base)
    _run(store, "r02-retry", 2, _flip(base, 3), parent="r01-root")
    _run(store, "r03-retry2", 3, base[::7], parent="r02-retry")
    dup = _run(store, "r04-dups", 4, [r for phase in PHASES for r in records_for(phase, n=40, seed=5)])
    with open(dup.results_path, "ab") as fh:  # the same keys again later in the file: these win
        fh.write(b"".join(encode_line(r) for r in _flip(dup.load_records(), 4)))
    torn = _run(store, "r05-torn", 5, records_for("baseline", n=30, seed=9))
    with open(torn.results_path, "ab") as fh:
        fh.write(encode_line(records_for("baseline", n=31, seed=9)[-1])[:-40])
    store.create("r06-empty", {"run_id": "r06-empty", "created_at": "2026-03-06T10:00:00.000Z", "status": "failed"})
    _run(store, "r07-orphan", 7, records_for("stages", n=20, seed=2), parent="deleted-run")
    whole = _run(store, "r08-no-newline", 8, records_for("calibration", n=12, seed=4))
    whole.results_path.write_bytes(whole.results_path.read_bytes()[:-1])  # last line whole, newline lost
    return runs


def _expected(runs: Path) -> tuple[list[object], list[object], dict[str, str | None]]:
    entries = [read_run(r) for r in RunStore(runs).list_runs()]
    lineages, winners = build_lineages(entries)
    hooks = section_hooks()
    texts = {phase: hooks[phase]([w for w in winners if w.phase == phase]) for phase in sorted({w.phase for w in winners})}
    return lineages, summarize(winners), texts  # type: ignore[return-value]


# the fold decodes blocks of lines; a block shorter than one line, and one of a few lines,
# put block edges inside records, torn tails and the no-newline end
@pytest.mark.parametrize("block", [None, 97, 4096])
def test_streaming_aggregate_agrees_with_the_in_memory_lineages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 block: int | None) -> None:
    if block is not None:
        monkeypatch.setattr(lineage_fold, "_BLOCK", block)
    runs = _archive(tmp_path)
    result = aggregate(runs, section_states())
    lineages, overall, texts = _expected(runs)
    assert result.lineages == lineages
    assert result.overall == overall
    assert result.sections == texts
    assert result.records == sum(lin.records for lin in lineages) and not result.unreadable
    by_root = {lin.root: lin for lin in result.lineages}
    assert by_root["r01-root"].runs == ["r01-root", "r02-retry", "r03-retry2"]
    assert by_root["r07-orphan"].missing_parent == "deleted-run"
    counts = {e.run_id: e.n_records for e in result.runs}
    assert counts["r05-torn"] == 30 and counts["r08-no-newline"] == 12 and counts["r06-empty"] == 0
    md = (runs / AGGREGATE_MD).read_text()
    assert md.count("## Phase `") == len(PHASES) and "log-bucket sketch" in md


def test_same_archive_same_bytes_cached_or_not(tmp_path: Path) -> None:
    runs = _archive(tmp_path)
    first = aggregate(runs, section_states())
    files = {name: (runs / name).read_bytes() for name in (AGGREGATE_JSON, AGGREGATE_MD)}
    assert sorted(first.folded) == sorted(r.run_id for r in RunStore(runs).list_runs())
    again = aggregate(runs, section_states())
    assert again.folded == []  # everything from the cache
    assert {name: (runs / name).read_bytes() for name in files} == files
    for cached in [*(runs / CACHE_DIR / "lineages").iterdir(), *(runs / CACHE_DIR / name for name in PREFIXES)]:
        cached.unlink()
    rebuilt = aggregate(runs, section_states())
    assert len(rebuilt.folded) == len(first.folded)
    assert {name: (runs / name).read_bytes() for name in files} == files
    assert b"2026-03-08T10:00:00.000Z" in files[AGGREGATE_MD]  # "as of" the newest run, not the clock


def test_a_new_run_folds_only_its_lineage(tmp_path: Path) -> None:
    runs = _archive(tmp_path)
    store = RunStore(runs)
    aggregate(runs, section_states())
    _run(store, "r09-new", 9, records_for("baseline", n=25, seed=8))
    assert aggregate(runs, section_states()).folded == ["r09-new"]
    _run(store, "r10-retry-of-dups", 10, _flip(records_for("baseline", n=40, seed=5), 2), parent="r04-dups")
    result = aggregate(runs, section_states())
    assert result.folded == ["r04-dups", "r10-retry-of-dups"]
    assert _expected(runs)[0] == result.lineages


def _fresh_bytes(runs: Path, tmp_path: Path) -> dict[str, bytes]:
    """The aggregate files of a copy of the archive aggregated with no cache at all."""
    copy = tmp_path / "fresh"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(runs, copy, ignore=shutil.ignore_patterns(CACHE_DIR))
    aggregate(copy, section_states())
    return {name: (copy / name).read_bytes() for name in (AGGREGATE_JSON, AGGREGATE_MD)}


def test_a_new_run_or_a_retry_of_the_newest_continues_a_merged_prefix(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """After a new run, or a retry of the newest run, no other lineage's summary is loaded
    (the merge of the rest is one cached prefix); a retry of an older run falls back to
    them. Every time the files are byte for byte those of an uncached aggregate."""
    runs = _archive(tmp_path)
    store = RunStore(runs)
    aggregate(runs, section_states())
    loads: list[str] = []
    real_load = AggregateCache.load
    monkeypatch.setattr(AggregateCache, "load", lambda self, root, key: loads.append(root) or real_load(self, root, key))
    _run(store, "r09-new", 9, records_for("baseline", n=25, seed=8))
    assert aggregate(runs, section_states()).folded == ["r09-new"] and loads == []
    _run(store, "r10-retry-newest", 10, _flip(records_for("baseline", n=25, seed=8), 2), parent="r09-new")
    assert aggregate(runs, section_states()).folded == ["r09-new", "r10-retry-newest"]
    assert set(loads) <= {"r09-new"}  # only the changed lineage's own (now stale) entry
    files = {name: (runs / name).read_bytes() for name in (AGGREGATE_JSON, AGGREGATE_MD)}
    assert files == _fresh_bytes(runs, tmp_path)
    _run(store, "r11-retry-old", 11, _flip(records_for("stages", n=20, seed=2), 3), parent="r07-orphan")
    result = aggregate(runs, section_states())
    assert result.folded == ["r07-orphan", "r11-retry-old"] and "r01-root" in loads  # the others from their own cache
    assert {name: (runs / name).read_bytes() for name in files} == _fresh_bytes(runs, tmp_path)
    assert aggregate(runs, section_states()).folded == []


def test_an_unchanged_file_with_a_new_mtime_is_not_folded_again(tmp_path: Path) -> None:
    runs = _archive(tmp_path)
    aggregate(runs, section_states())
    path = RunStore(runs).find("r07-orphan").results_path
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))
    assert aggregate(runs, section_states()).folded == []  # same hash: the cached summary stands
    path.write_bytes(path.read_bytes().replace(b'"status":"ok"', b'"status":"error"', 1))
    result = aggregate(runs, section_states())
    assert result.folded == ["r07-orphan"]
    assert _expected(runs)[1] == result.overall


def test_a_corrupt_run_is_left_out_named_and_remembered(tmp_path: Path) -> None:
    runs = _archive(tmp_path)
    bad = RunStore(runs).find("r02-retry")
    lines = bad.results_path.read_bytes().split(b"\n")
    lines[3] = b'{"phase": broken'
    bad.results_path.write_bytes(b"\n".join(lines))
    result = aggregate(runs, section_states())
    assert set(result.unreadable) == {"r02-retry"} and f"{bad.results_path}:4" in result.unreadable["r02-retry"]
    by_root = {lin.root: lin for lin in result.lineages}
    assert by_root["r01-root"].runs == ["r01-root"]  # its child now stands alone...
    assert by_root["r03-retry2"].missing_parent == "r02-retry"  # ...and the grandchild is a root
    assert "## Unreadable runs (left out)" in (runs / AGGREGATE_MD).read_text()
    again = aggregate(runs, section_states())
    assert again.folded == [] and again.unreadable == result.unreadable  # not decoded again


@pytest.mark.parametrize("block", [None, 97])
def test_block_decoding_keeps_the_per_line_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 block: int | None) -> None:
    """A blank line is skipped; two records on one line are a corrupt line, named by number,
    although `decode_lines` alone would accept them."""
    if block is not None:
        monkeypatch.setattr(lineage_fold, "_BLOCK", block)
    runs = tmp_path / "runs"
    store = RunStore(runs)
    blank = _run(store, "r01-blank", 1, records_for("baseline", n=20, seed=3))
    lines = blank.results_path.read_bytes().split(b"\n")
    blank.results_path.write_bytes(b"\n".join([*lines[:5], b"", b"   ", *lines[5:]]))
    joined = _run(store, "r02-joined", 2, records_for("baseline", n=20, seed=4))
    lines = joined.results_path.read_bytes().split(b"\n")
    joined.results_path.write_bytes(b"\n".join([*lines[:7], lines[7] + b" " + lines[8], *lines[9:]]))
    result = aggregate(runs, section_states())
    assert {e.run_id: e.n_records for e in result.runs} == {"r01-blank": 20}
    assert set(result.unreadable) == {"r02-joined"} and f"{joined.results_path}:8" in result.unreadable["r02-joined"]


@pytest.mark.parametrize("sections", [None, {}])
def test_without_phase_sections_only_the_statistics(tmp_path: Path, sections: dict[str, object] | None) -> None:
    runs = _archive(tmp_path)
    result = aggregate(runs, sections)  # type: ignore[arg-type]
    assert result.sections == {} and result.overall == _expected(runs)[1]
