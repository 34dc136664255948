"""structlog set-up: JSON lines, quiet by default, one file-backed logger per run.

Why explicit: subagents' stdout is forwarded to the driver's terminal by Ray, so chatty
defaults would drown the progress display; the run's own event log is a file.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import IO, Any

import structlog

# set (to "1") by `fleetbench ... --verbose`; read in every process of a run (the driver, its
# Ray workers and its model servers inherit it): third-party start-up chatter and
# llama.cpp's logs are shown only then
VERBOSE_ENV = "FLEETBENCH_VERBOSE"


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def configure_process_logging() -> None:
    """Process-wide structlog: JSON to stderr (stdout is for results) at FLEETBENCH_LOG_LEVEL
    (default WARNING)."""
    level = getattr(logging, os.environ.get("FLEETBENCH_LOG_LEVEL", "WARNING").upper(), logging.WARNING)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


class EventLog:
    """Append-only JSON-lines event log for one run (written by the collector only)."""

    def __init__(self, path: Path, redact: Any = None) -> None:
        self._file: IO[str] = path.open("a", encoding="utf-8")
        self._redact = redact
        # its own wrapper class: the process-wide level filter (WARNING by default) is for
        # stderr chatter and must never drop a run's events
        self._logger = structlog.wrap_logger(
            structlog.PrintLogger(self._file),
            wrapper_class=structlog.BoundLogger,
            processors=[
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                self._redact_processor,
                structlog.processors.JSONRenderer(),
            ],
        )

    def _redact_processor(self, _logger: Any, _name: str,
                          event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if self._redact is None:
            return event
        return {k: self._redact(v) if isinstance(v, str) else v for k, v in event.items()}

    def emit(self, event: str, **fields: Any) -> None:
        self._logger.info(event, **fields)
        self._file.flush()

    def close(self) -> None:
        self._file.close()
