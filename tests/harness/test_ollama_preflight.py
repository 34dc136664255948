"""Preflight against the simulator's /api/ps, with thresholds forcing each verdict."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pydantic
import pytest

from harness.providers.ollama_preflight import PreflightThresholds, preflight
from simulator.config import BrainConfig, SimConfig
from simulator.server import SimThread

TINY = PreflightThresholds(min_free_disk_gb_warn=0, min_free_disk_gb_refuse=0, min_free_ram_gb_warn=0,
                           min_free_ram_gb_refuse=0, max_loaded_models_warn=10)
HUGE = 1e9


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    with SimThread(SimConfig(models={"a": BrainConfig(context_window=4096), "b": BrainConfig()})) as running:
        yield running


async def test_ok_lists_loaded_models(sim: SimThread, tmp_path: Path) -> None:
    report = await preflight(sim.url, tmp_path / "not" / "yet", TINY)
    assert report.verdict == "ok" and report.ok and report.reasons == []
    assert [m.name for m in report.loaded_models] == ["a", "b"]
    assert report.loaded_models[0].context_length == 4096
    assert report.free_disk_gb > 0 and report.free_ram_gb > 0


@pytest.mark.parametrize(("update", "verdict", "word"), [
    ({"max_loaded_models_warn": 1}, "warn", "not idle"),
    ({"min_free_disk_gb_warn": HUGE}, "warn", "archive volume"),
    ({"min_free_ram_gb_warn": HUGE}, "warn", "RAM"),
    ({"min_free_disk_gb_warn": HUGE, "min_free_disk_gb_refuse": HUGE}, "refuse", "archive volume"),
    ({"min_free_ram_gb_warn": HUGE, "min_free_ram_gb_refuse": HUGE}, "refuse", "RAM"),
])
async def test_thresholds_force_verdicts(sim: SimThread, tmp_path: Path, update: dict[str, float],
                                         verdict: str, word: str) -> None:
    report = await preflight(sim.url, tmp_path, TINY.model_copy(update=update))
    assert report.verdict == verdict
    assert len(report.reasons) == 1 and word in report.reasons[0]


async def test_worst_finding_wins(sim: SimThread, tmp_path: Path) -> None:
    thresholds = TINY.model_copy(update={"max_loaded_models_warn": 0, "min_free_ram_gb_warn": HUGE,
                                         "min_free_ram_gb_refuse": HUGE})
    report = await preflight(sim.url, tmp_path, thresholds)
    assert report.verdict == "refuse" and len(report.reasons) == 2


async def test_unreachable_server_refuses(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    report = await preflight(f"127.0.0.1:{port}", tmp_path, TINY)
    assert report.verdict == "refuse" and not report.server_reachable
    assert f"http://127.0.0.1:{port}" in report.reasons[0] and "OLLAMA_HOST" in report.reasons[0]


def test_refuse_above_warn_is_rejected() -> None:
    with pytest.raises(pydantic.ValidationError, match="min_free_disk_gb_refuse"):
        PreflightThresholds(min_free_disk_gb_warn=1, min_free_disk_gb_refuse=2)
    with pytest.raises(pydantic.ValidationError):
        PreflightThresholds(min_free_ram_gb=3)  # type: ignore[call-arg]  # misspelt: forbidden
