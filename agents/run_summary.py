"""After a run: its summary.md, its phases' artifacts, and its final manifest status.

Why in the driver and not the collector: the collector only writes records; rendering,
plots and the aggregate read them afterwards, so a failure here can cost a summary but
never a record, and the records are all durable before any of it starts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec

from agents.client_health import client_health, health_section, schedule_lags
from agents.config import FleetConfig, load_config
from agents.phase_agent import PhaseReport
from agents.phases import Phase, make_phase, section_states
from archive.lineage import read_meta
from archive.lineage_fold import UnreadableRun, fold_lineage
from archive.stats_md import render_folded_summary
from archive.store import RunDir
from harness.errors import InputError
from harness.records import CallRecord, decode_line


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
    """Write summary.md and artifacts, then mark the manifest; returns (summary, notes).

    Why streamed: the records are never all in memory (a 100k-call run held 3.6 KB per call
    here when they were). Statistics and phase sections are the aggregate's own fold of the
    run's results (`archive.lineage_fold`: the same section states, so the same text as
    `summary_section(records)`); a second pass keeps only the schedule lags, and the records
    of the phases that draw artifacts (plots), phase by phase."""
    manifest = run.read_manifest()
    manifest["status"] = status
    if failure:
        manifest["failure"] = failure
    config, unreadable = run_config(manifest)
    notes = [f"config unreadable at finalize: {unreadable}"] if unreadable else []
    meta = read_meta(run)
    size = meta.results.stat().st_size if meta.results.exists() else 0
    try:
        folded, _ = fold_lineage(meta.run_id, [meta], {meta.run_id: size}, section_states(config))
    except UnreadableRun as bad:
        raise bad.error from None
    texts = {phase: state.render() for phase, state in folded.sections.items()}
    lags = schedule_lags(_lags(run))
    artifacts: list[str] = []
    for phase_name in sorted(lags):
        phase = make_phase(phase_name, config)
        if type(phase).write_artifacts is Phase.write_artifacts:
            continue
        try:
            artifacts += phase.write_artifacts(run.path, _phase_records(run, phase_name))
        except (OSError, ValueError) as exc:
            notes.append(f"{phase_name}: artifacts not written: {exc}")
    health = client_health(lags, reports)
    text = render_folded_summary(manifest, folded.records, folded.rows, texts)
    limiters = (extra_manifest or {}).get("limiters") or {}
    for extra in (health_section(health) if health else None, limits_section(limiters)):
        if extra:
            text = text.rstrip("\n") + "\n\n" + extra + "\n"
    run.summary_path.write_text(text, encoding="utf-8")
    fields: dict[str, Any] = {"status": status, "records": folded.records, "artifacts": artifacts,
                              "client": health}
    if failure:
        fields["failure"] = failure
    fields.update(extra_manifest or {})
    run.update_manifest(**fields)
    return run.summary_path, notes


class _Lag(msgspec.Struct, gc=False):
    phase: str
    schedule_lag_ms: float | None = None


_decode_lag = msgspec.json.Decoder(_Lag).decode


def _lines(run: RunDir) -> Iterator[tuple[bytes, _Lag]]:
    """Each record line of the run with its phase and schedule lag decoded. The fold before
    this pass has already named any corrupt line; a torn final line is skipped, as
    everywhere."""
    try:
        fh = open(run.results_path, "rb")  # noqa: SIM115 - closed by the `with` below
    except FileNotFoundError:
        return
    with fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                yield line, _decode_lag(line)
            except msgspec.DecodeError:
                if not line.endswith(b"\n"):
                    return
                raise


def _lags(run: RunDir) -> Iterator[_Lag]:
    return (lag for _, lag in _lines(run))


def _phase_records(run: RunDir, phase: str) -> list[CallRecord]:
    """One phase's records, whole: for its artifacts."""
    return [decode_line(line) for line, lag in _lines(run) if lag.phase == phase]
