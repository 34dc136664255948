"""Resource hygiene before a run (the seeds' "check Ollama idle, disk, RAM first").

Why before Ray and the archive: a run that would thrash a busy machine, or fill a disk
mid-way, is better refused up front, with reasons, than half-done. Which servers need the
check is their API's declaration (`ApiSpec.preflight`), not a list kept here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from agents.providers import ResolvedProvider
from harness.providers.ollama_preflight import PreflightReport, PreflightThresholds
from harness.providers.registry import api_spec


class RunRefused(Exception):
    """The run should not start (exit code 3): the reasons are in the message."""


def check_servers(providers: Mapping[str, ResolvedProvider], runs_dir: Path,
                  thresholds: PreflightThresholds) -> list[PreflightReport]:
    """One report per provider whose API has a preflight; raises RunRefused on `refuse`."""
    reports = []
    for provider in providers.values():
        check = api_spec(provider.api).preflight
        if check is None:
            continue
        report = asyncio.run(check(provider.base_url, runs_dir, thresholds))
        if report.verdict == "refuse":
            raise RunRefused(f"preflight refused {provider.name} at {report.host}: " + "; ".join(report.reasons))
        reports.append(report)
    return reports
