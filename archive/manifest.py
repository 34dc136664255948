"""A run's manifest: what was asked, with what code and inputs, on which machine.

Why so much provenance: numbers from two runs are only comparable if their suites (by
sha256), config, package versions and git revision are known. Gathering it must never
fail a run, so every probe degrades to None.
"""

from __future__ import annotations

import platform
import socket
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

VERSIONED_PACKAGES = ("fleetbench", "ray", "openai", "anthropic", "claude-agent-sdk", "ollama", "pydantic", "msgspec")
_REPO_ROOT = Path(__file__).resolve().parent.parent


def utc_now_iso(now: datetime | None = None) -> str:
    """`2026-11-22T07:13:55.123Z`: UTC, milliseconds, sortable."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def package_versions(names: tuple[str, ...] = VERSIONED_PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_revision(repo: Path = _REPO_ROOT) -> str | None:
    """HEAD of the repository this package runs from; None outside git or without commits."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                              text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    revision = done.stdout.strip()
    return revision if done.returncode == 0 and revision else None


def _hostname() -> str | None:
    try:
        return socket.gethostname()
    except OSError:
        return None


def build_manifest(run_id: str, *, config: dict[str, Any], suites: list[tuple[str, Path, str]],
                   models: list[str], phases: list[str], parent_run: str | None, argv: list[str],
                   created_at: datetime | None = None) -> dict[str, Any]:
    """The manifest written when a run is created. `config` must already be redacted."""
    return {
        "run_id": run_id,
        "created_at": utc_now_iso(created_at),
        "status": "running",
        "parent_run": parent_run,
        "phases": list(phases),
        "models": list(models),
        "suites": [{"name": name, "path": str(path), "sha256": digest} for name, path, digest in suites],
        "config": config,
        "argv": list(argv),
        "versions": package_versions(),
        "git_revision": git_revision(),
        "hostname": _hostname(),
        "python": platform.python_version(),
    }
