"""After a run: its summary.md, its phases' artifacts, and its final manifest status.

Why in the driver and not the collector: the collector only writes records; rendering,
plots and the aggregate read them afterwards, so a failure here can cost a summary but
never a record, and the records are all durable before any of it starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.client_health import client_health, health_section
from agents.config import FleetConfig, load_config
from agents.phase_agent import PhaseReport
from agents.phases import make_phase
from archive.stats_md import render_run_summary
from archive.store import RunDir
from harness.errors import InputError


def run_config(manifest: dict[str, Any]) -> tuple[FleetConfig, str | None]:
    """The run's own config (thresholds shape its summary); defaults, and why, if it is gone."""
    request = manifest.get("request")
    path = request.get("config_path") if isinstance(request, dict) else None
    try:
        return load_config(Path(path) if path else None), None
    except InputError as exc:
        return FleetConfig(), str(exc)


def wants_calibration(manifest: dict[str, Any], config: FleetConfig) -> bool:
    request = manifest.get("request")
    options = request.get("options") if isinstance(request, dict) else None
    wanted = not (isinstance(options, dict) and options.get("calibrate") is False)
    return wanted and config.calibration.ema.auto


def limits_section(limiters: dict[str, Any]) -> str | None:
    """Adaptive concurrency per provider: where it started, where it ended, and why."""
    rows = []
    for name, info in sorted(limiters.items()):
        changes = info.get("adaptive_changes") or []
        if not changes and not info.get("rate_limited"):
            continue
        trail = ", ".join(f"{c.get('old') or 0:.1f}->{c.get('new') or 0:.1f} ({c.get('reason')})"
                          for c in changes[-4:])
        rows.append(f"| {name} | {info.get('configured_concurrency') or '–'} | {info.get('concurrency_limit') or '–'} "
                    f"| {info.get('rate_limited', 0)} | {len(changes)} | {trail or '–'} |")
    if not rows:
        return None
    return "\n".join(["## Adaptive concurrency", "",
                      ("429s shrink a provider's allowed calls in flight (x0.8, once per round); clean rounds grow it "
                      "back towards the configured cap."), "",
                      "| provider | configured | allowed at the end | 429s seen | changes | last changes |",
                      "|---|---:|---:|---:|---:|---|", *rows])


def write_run_summary(run: RunDir, status: str, *, failure: str | None = None,
                      reports: Sequence[PhaseReport] = (),
                      extra_manifest: dict[str, Any] | None = None) -> tuple[Path, list[str]]:
    """Write summary.md and artifacts, then mark the manifest; returns (summary, notes)."""
    manifest = run.read_manifest()
    manifest["status"] = status
    if failure:
        manifest["failure"] = failure
    config, unreadable = run_config(manifest)
    notes = [f"config unreadable at finalize: {unreadable}"] if unreadable else []
    records = run.load_records()
    sections = {}
    artifacts: list[str] = []
    for phase_name in sorted({r.phase for r in records}):
        phase = make_phase(phase_name, config)
        sections[phase_name] = phase.summary_section
        try:
            artifacts += phase.write_artifacts(run.path, [r for r in records if r.phase == phase_name])
        except (OSError, ValueError) as exc:
            notes.append(f"{phase_name}: artifacts not written: {exc}")
    health = client_health(records, reports)
    text = render_run_summary(manifest, records, sections=sections)
    limiters = (extra_manifest or {}).get("limiters") or {}
    for extra in (health_section(health) if health else None, limits_section(limiters)):
        if extra:
            text = text.rstrip("\n") + "\n\n" + extra + "\n"
    run.summary_path.write_text(text, encoding="utf-8")
    fields: dict[str, Any] = {"status": status, "records": len(records), "artifacts": artifacts,
                              "client": health}
    if failure:
        fields["failure"] = failure
    fields.update(extra_manifest or {})
    run.update_manifest(**fields)
    return run.summary_path, notes
