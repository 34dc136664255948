"""What the driver hands back and who watches it: the run's result and its progress protocol.

Why apart from the driver: these are the driver's interface to its callers (the CLI, the
rate sweep, scripts and tests), not its Ray logic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class RunProgress(Protocol):
    """Whoever watches a run: the CLI draws it; scripts and tests get `SilentProgress`.

    Why a protocol here: the driver must not import the CLI (dependencies point one way).
    """

    def start(self, totals: dict[str, int]) -> None: ...
    def update(self, counts: dict[str, dict[str, int]]) -> None: ...
    def note(self, message: str) -> None: ...
    def close(self, counts: dict[str, dict[str, int]]) -> None: ...


class SilentProgress:
    """The default watcher: says nothing (the run's own event log is in the archive)."""

    def start(self, totals: dict[str, int]) -> None:
        pass

    def update(self, counts: dict[str, dict[str, int]]) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def close(self, counts: dict[str, dict[str, int]]) -> None:
        pass


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    status: str
    counts: dict[str, dict[str, int]]
    summary_path: Path
    restarts: dict[str, int] = field(default_factory=dict)
    failure: str | None = None
