"""Resource hygiene before a run (the seeds' "check Ollama idle, disk, RAM first").

Why before Ray and the archive: a run that would thrash a busy machine, or fill a disk
mid-way, is better refused up front, with reasons, than half-done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from agents.providers import ResolvedProvider
from harness.providers.ollama_preflight import PreflightReport, PreflightThresholds, preflight


class RunRefused(Exception):
    """The run should not start (exit code 3): the reasons are in the message."""


def check_ollama_servers(providers: Mapping[str, ResolvedProvider], runs_dir: Path,
                         thresholds: PreflightThresholds) -> list[PreflightReport]:
    """One report per Ollama-speaking provider; raises RunRefused on a `refuse` verdict."""
    reports = []
    for provider in providers.values():
        if provider.api != "ollama":
            continue
        report = asyncio.run(preflight(provider.base_url, runs_dir, thresholds))
        if report.verdict == "refuse":
            raise RunRefused(f"preflight refused {provider.name} at {report.host}: " + "; ".join(report.reasons))
        reports.append(report)
    return reports
