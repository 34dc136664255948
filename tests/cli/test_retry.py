"""The rate-limit retry: a run whose calls were rate-limited is retried as a new run linked to its
parent; aggregation then shows the merged picture (latest terminal result per key wins)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archive.store import RunStore
from tests.cluster.helpers import cli, run_records, write_yaml

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _configs(tmp_path: Path, faults: list[dict[str, object]]) -> Path:
    sim = write_yaml(tmp_path / "sim.yaml", {"default_brain": {"ttft_ms": 5, "itl_ms": 1, "output_tokens": 3},
                                            "faults": faults})
    return write_yaml(tmp_path / "fleet.yaml", {"simulator": str(sim),
                                                "retry": {"max_attempts": 2, "base_delay_s": 0.05}})


def test_retry_redoes_only_failures_and_aggregate_merges(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    config = _configs(tmp_path, [{"kind": "rate_limit", "model": "codex", "rate": 1.0, "retry_after_s": 0.2}])
    first = cli("run", "smoke", "--phase", "baseline", "--models", "sim/codex,sim/steady", "--config", str(config),
                "--runs-dir", str(runs), "--run-id", "parent-run")
    assert first.returncode == 0, first.stderr
    assert "constraint adherence" in first.stdout  # the phase section is printed too
    parent = run_records(runs, "parent-run")
    failed = [r for r in parent if r.status == "error"]
    assert {r.model for r in failed} == {"sim/codex"} and all(r.error_class == "rate_limited" for r in failed)
    assert all(a.waited_s >= 0.2 for r in failed for a in r.attempt_log[:-1])  # never earlier than asked

    _configs(tmp_path, [])  # the quota reset: same files, no more 429s
    retried = cli("retry", "parent-run", "--errors-only", "--runs-dir", str(runs))
    assert retried.returncode == 0, retried.stderr
    assert "retrying 3 keys of parent-run" in retried.stdout
    child = next(r for r in RunStore(runs).list_runs() if r.run_id != "parent-run")
    assert child.read_manifest()["parent_run"] == "parent-run"
    records = child.load_records()
    assert sorted(r.key for r in records) == sorted(r.key for r in failed)
    assert all(r.status == "ok" for r in records)

    aggregate = json.loads((runs / "aggregate.json").read_text())
    lineage = next(lin for lin in aggregate["lineages"] if lin["root"] == "parent-run")
    assert lineage["runs"] == ["parent-run", child.run_id]
    summary = (runs / "AGGREGATE_SUMMARY.md").read_text()
    codex_row = next(line for line in summary.splitlines() if "sim/codex" in line and "|" in line)
    assert "100.0" in codex_row

    nothing = cli("retry", child.run_id, "--runs-dir", str(runs))
    assert nothing.returncode == 0 and "nothing to retry" in nothing.stdout
