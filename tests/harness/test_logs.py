"""The run's event log writes every event whatever the process-wide log level."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.logs import EventLog, configure_process_logging


def test_event_log_ignores_the_process_level(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETBENCH_LOG_LEVEL", "ERROR")
    configure_process_logging()
    log = EventLog(tmp_path / "events.jsonl", redact=lambda s: s.replace("sk-secret", "***"))
    log.emit("run_finalized", status="completed", note="key sk-secret")
    log.close()
    monkeypatch.delenv("FLEETBENCH_LOG_LEVEL")
    configure_process_logging()
    event = json.loads((tmp_path / "events.jsonl").read_text())
    assert event["event"] == "run_finalized" and event["status"] == "completed" and "***" in event["note"]
