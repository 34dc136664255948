"""The collector's faults: killed mid-run it restarts and the run completes by itself;
a disk that fills up fails the run loudly, with whole lines only in results.jsonl."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray

from agents.run_setup import RunSpec
from archive.store import RunStore
from cluster.driver import RunSession
from tests.cluster.helpers import run_records, run_watched, sim_and_fleet_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _wait_for_records(session: RunSession, n: int, timeout_s: float = 300) -> None:
    """Generous: Ray's actors start slowly on a busy 2-core machine; a fault injected before
    the run wrote anything would test a different thing, so falling short fails here."""
    def written() -> int:
        return sum(sum(c.values()) for c in session.counts().values())

    deadline = time.monotonic() + timeout_s
    while written() < n and time.monotonic() < deadline:
        time.sleep(0.02)
    assert written() >= n, f"fewer than {n} records in {timeout_s} s"


def test_sigkill_of_the_collector_restarts_it_and_the_run_completes(ray_local: None, tmp_path: Path) -> None:
    config = sim_and_fleet_config(tmp_path, brain={"ttft_ms": 20, "itl_ms": 2, "output_tokens": 4}, concurrency=6)
    spec = RunSpec(suites=["smoke"], phases=["baseline"], models=["sim/a", "sim/b"], repeat=10, config_path=config)
    runs = tmp_path / "runs"

    def kill_the_collector(session: RunSession) -> None:
        first = ray.get(session.collector.pid.remote())
        _wait_for_records(session, 10)
        os.kill(first, signal.SIGKILL)

    result, _ = run_watched(RunSession(spec, runs_dir=runs, progress=False), during=kill_the_collector)
    assert result.status == "completed", result.failure
    records = run_records(runs, result.run_id)
    keys = [r.key for r in records]
    assert len(keys) == len(set(keys)) == 3 * 2 * 10
    assert all(r.status == "ok" for r in records)
    manifest = RunStore(runs).find(result.run_id).read_manifest()
    assert manifest["status"] == "completed"
    events = (result.run_dir / "events.jsonl").read_text()
    assert events.count('"collector_started"') == 2  # the restarted collector re-read its file


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real filesystem that really fills up: a 2 MiB tmpfs (the tests run as root in CI)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path) -> Path:
    """Take every free byte (the disk may be nearly full already)."""
    filler = path / "filler"
    try:
        with open(filler, "wb") as fh:
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
    except OSError:
        pass
    return filler


def test_a_full_disk_fails_the_run_loudly_and_leaves_whole_lines(ray_local: None, tmp_path: Path,
                                                                 small_disk: Path) -> None:
    config = sim_and_fleet_config(tmp_path, brain={"ttft_ms": 20, "itl_ms": 2, "output_tokens": 50}, concurrency=4)
    spec = RunSpec(suites=["smoke"], phases=["baseline"], models=["sim/a", "sim/b"], repeat=30, config_path=config)
    runs = small_disk / "runs"

    def fill_the_disk(session: RunSession) -> None:
        _wait_for_records(session, 6)
        _fill(small_disk)

    result, _ = run_watched(RunSession(spec, runs_dir=runs, progress=False), during=fill_the_disk)
    filler = small_disk / "filler"
    assert result.status == "failed"
    assert result.failure is not None and "No space left on device" in result.failure
    sizes = {str(p.relative_to(small_disk)): p.stat().st_size for p in small_disk.rglob("*") if p.is_file()}
    filler.unlink(missing_ok=True)
    run = RunStore(runs).find(result.run_id)
    records = run.load_records()  # every line whole: a torn line would raise here
    assert 6 <= len(records) < 3 * 2 * 30, sizes
    assert run.results_path.read_bytes().endswith(b"\n")
    assert run.read_manifest()["status"] != "completed"
