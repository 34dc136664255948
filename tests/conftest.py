"""Test-wide set-up: quiet structlog (debug lines would drown pytest's output)."""

from __future__ import annotations

import os

from harness.logs import configure_process_logging

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# keep every Ray node of the tests on loopback (read when ray is first imported)
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
configure_process_logging()
