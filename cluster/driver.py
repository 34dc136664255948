"""The Ray driver: plan, archive, spawn phase subagents, recover the dead, collect.

Why a session object: the CLI runs "all phases, wait, summarise", while scripts want to
spawn one or several subagents themselves; both share this one code path.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from agents.access import access_notes, no_access_records, split_by_access
from agents.input_check import refuse_changed_inputs
from agents.phase_agent import PhaseReport, warm_targets
from agents.plan import WorkItem, remaining
from agents.post_run import post_run
from agents.preflight import RunRefused, check_servers
from agents.providers import ResolvedProvider, resolve_provider
from agents.run_setup import PreparedRun, RunSpec, prepare_run
from agents.run_summary import run_config, wants_calibration, write_run_summary
from agents.sim_host import LocalModelsHost, SimHost
from archive.manifest import build_manifest
from archive.run_id import new_run_id, validate_run_id
from archive.store import RunDir, RunStore
from cluster.collector_actor import Collector
from cluster.interrupt import ctrl_c_sets_flag
from cluster.limiter_actor import LimiterSpec, ensure_limiter, make_spec
from cluster.phase_actor import CHUNK, PhaseSubagent, chunk_items, holder_id, wait_dead, worker_handle
from cluster.ray_runtime import cluster_ip, driver_node_id, ensure_ray, node_count
from cluster.run_watch import RunProgress, RunResult, SilentProgress
from harness.errors import ErrorClass, InputError
from harness.logs import EventLog
from harness.records import CallRecord, RecordKey
from harness.redact import default_redactor

MAX_RESTARTS = 3
COLLECTOR_TIMEOUT_S = 120.0


class CollectorLost(Exception):
    """The collector is gone for good (its restarts used up): the run cannot go on."""


@dataclass
class _Running:
    phase: str
    items: list[WorkItem]
    workers: int
    scheduling: Any
    generation: int = 0
    actor: Any = None
    ref: Any = None


class RunSession:
    """One run: created (or resumed) on construction; `spawn` phases; `wait` for the result."""

    def __init__(self, spec: RunSpec, *, runs_dir: Path, run_id: str | None = None,
                 resume: str | None = None, address: str | None = None, parent_run: str | None = None,
                 argv: Sequence[str] | None = None, progress: RunProgress | None = None,
                 prepared: PreparedRun | None = None, allow_changed_inputs: bool = False) -> None:
        self.store = RunStore(runs_dir)
        if resume:
            self.run_dir: RunDir = self.store.find(validate_run_id(resume))
            manifest = self.run_dir.read_manifest()
            spec = RunSpec.from_manifest(manifest.get("request", {}))
        # the CLI prepares (checks) the run before importing Ray, and hands it over
        self.prepared: PreparedRun = prepared or prepare_run(spec)
        if resume and not allow_changed_inputs:
            refuse_changed_inputs(manifest, self.prepared, self.run_dir.run_id)
        if parent_run and not allow_changed_inputs:
            refuse_changed_inputs(self.store.find(parent_run, "RUN_ID").read_manifest(), self.prepared, parent_run)
        if not resume:
            new_id = validate_run_id(run_id) if run_id else new_run_id()
            self.store.check_new(new_id)
        self.sim, self.local, self._started_ray = self._start_servers_and_ray(address)
        self.resumed = bool(resume)
        try:
            self.providers: dict[str, ResolvedProvider] = {
                name: resolve_provider(name, self.prepared.config, sim_url=self.sim.url if self.sim else None,
                                       sim_limits=self.sim.limits if self.sim else None,
                                       local_url=self.local.url if self.local else None,
                                       model_apis=self.prepared.model_apis(name))
                for name in sorted(self.prepared.provider_names | self.prepared.fallback_providers)}
            self.preflight = check_servers(self.providers, runs_dir, self.prepared.config.preflight)
        except (RunRefused, InputError):
            self.close()
            raise
        if not resume:
            manifest = build_manifest(
                new_id, config=default_redactor().redact_obj(self.prepared.config.model_dump(mode="json")),
                suites=[(s.suite.name, s.path, s.sha256) for s in self.prepared.suites],
                models=[str(m) for m in self.prepared.models], phases=list(self.prepared.phases),
                parent_run=parent_run, argv=list(argv or sys.argv))
            manifest["request"] = spec.to_manifest()
            manifest["preflight"] = [r.model_dump(mode="json") for r in self.preflight]
            self.run_dir = self.store.create(new_id, manifest)
        else:
            self.run_dir.update_manifest(status="running")
        self.run_id = self.run_dir.run_id
        self.collector = Collector.options(  # type: ignore[attr-defined]
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=driver_node_id(), soft=False),
        ).remote(str(self.run_dir.path), self.run_id)
        # keep the handles: a non-detached named actor dies when its last handle goes
        self.limiter_specs: dict[str, LimiterSpec] = {
            name: make_spec(p.connection_key(), p.limits, detached=address is not None)
            for name, p in self.providers.items()}
        self._limiters = {name: ensure_limiter(spec, self.run_id, wait=False) for name, spec in self.limiter_specs.items()}
        self._pending_adds: list[Any] = []  # no-access records on their way to the collector
        self._logged: list[Any] = []  # event-log calls not yet known to have run
        self._ever_spawned = False
        self._running: dict[str, _Running] = {}
        self.restarts: dict[str, int] = {}
        self.reports: list[PhaseReport] = []
        totals = {name: len(plan) for name, plan in self.prepared.plans.items()}
        self.progress: RunProgress = progress or SilentProgress()
        self.progress.start(totals)
        self._log("run_started" if not resume else "run_resumed", totals=totals, nodes=node_count())
        for warning in self.prepared.warnings + [f"preflight {r.host}: {'; '.join(r.reasons)}"
                                                 for r in self.preflight if r.verdict == "warn"]:
            self.progress.note(f"warning: {warning}")

    def _start_servers_and_ray(self, address: str | None) -> tuple[SimHost | None, LocalModelsHost | None, bool]:
        """Ray's start (~2 s) overlaps the servers' (the embedded models load their
        weights meanwhile): start-up is the longer of the two, not their sum."""
        servers: list[SimHost | LocalModelsHost] = []
        started = False
        try:
            host = cluster_ip(address)  # loopback, unless joining a cluster
            sim = SimHost.for_run(self.prepared, host)
            servers += [sim] if sim else []
            local = LocalModelsHost.for_run(self.prepared, host)
            servers += [local] if local else []
            started = ensure_ray(address)
            for server in servers:
                server.ready()
        except BaseException:
            for server in servers:
                server.stop()
            if started:
                ray.shutdown()
            raise
        return sim, local, started

    def _log(self, event: str, **fields: Any) -> None:
        # kept until the close: an async actor runs its calls in no guaranteed order, so the
        # close could otherwise overtake the last events and shut their log first
        self._logged.append(self.collector.log_event.remote(event, fields))

    def done_keys(self) -> set[RecordKey]:
        """Keys already durable. A new run has none: not asking spares the first subagent
        a wait for the collector's start."""
        if not self.resumed and not self.restarts and not self._pending_adds and not self._ever_spawned:
            return set()
        keys: list[RecordKey] = ray.get(self.collector.done_keys.remote())
        return set(keys)

    def spawn(self, phase: str, *, workers: int | None = None, scheduling: Any = None) -> None:
        """Start `phase` as its own actor subagent on the keys not yet recorded."""
        if phase not in self.prepared.plans:
            raise InputError("--phase", f"phase {phase!r} is not part of this run")
        todo, denied = split_by_access(remaining(self.prepared.plans[phase], self.done_keys()), self.providers)
        self._ever_spawned = True
        if denied:
            for note in access_notes(denied, self.providers):
                self.progress.note(f"phase {phase}: {note}")
            self._pending_adds.append(self.collector.add.remote(no_access_records(denied, self.providers, self.run_id)))
        spread = "SPREAD" if node_count() > 1 else "DEFAULT"
        running = _Running(phase, self.prepared.plans[phase],
                           workers or self.prepared.spec.workers or self.prepared.config.workers_per_phase,
                           scheduling or spread)
        self._running[phase] = running
        self._start(running, todo)

    def _start(self, running: _Running, todo: list[WorkItem]) -> None:
        config = self.prepared.config
        running.actor = PhaseSubagent.options(scheduling_strategy=running.scheduling).remote(  # type: ignore[attr-defined]
            self.prepared.phases[running.phase], self.run_id, self.providers, self.limiter_specs, config.retry,
            self.prepared.spec.concurrency or config.concurrency, self.collector, running.generation,
            self.prepared.catalogue, 0, self.prepared.load)
        # at least one chunk per fan-out worker, and never more than CHUNK items in one
        size = max(1, min(CHUNK, -(-len(todo) // max(1, running.workers))))
        running.ref = running.actor.run.remote(chunk_items(todo, size), running.workers, warm_targets(todo))
        self._log("phase_started", phase=running.phase, items=len(todo), generation=running.generation)

    def phase_actor(self, phase: str) -> Any:
        return self._running[phase].actor

    def counts(self) -> dict[str, dict[str, int]]:
        return dict(self._collector_status()["counts"])

    def _collector_status(self) -> dict[str, Any]:
        """O(phases) on the collector; raises CollectorLost when it is gone for good."""
        try:
            status: dict[str, Any] = ray.get(self.collector.status.remote(), timeout=COLLECTOR_TIMEOUT_S)
        except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as exc:
            raise CollectorLost(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
        return status

    def wait(self) -> RunResult:
        """Wait for every spawned phase, restarting dead subagents on their unrecorded keys."""
        status, failure = "completed", None
        with ctrl_c_sets_flag() as interrupted:
            try:
                while self._running and not interrupted.is_set():
                    refs = {r.ref: r for r in self._running.values()}
                    ready, _ = ray.wait(list(refs), num_returns=1, timeout=0.5)
                    state = self._collector_status()
                    self.progress.update(state["counts"])
                    if state["failed"]:
                        status, failure = "failed", str(state["failed"])
                        break
                    for ref in ready:
                        self._settle(refs[ref])
            except KeyboardInterrupt:
                interrupted.set()
            except CollectorLost as exc:
                status, failure = "interrupted", f"the collector died and could not be restarted ({exc})"
        if interrupted.is_set():
            status, failure = "interrupted", "interrupted by the user"
        if self._running:
            self._stop_all()
        if status == "interrupted":
            self.progress.note("interrupted: subagents stopped")
        return self._finish(status, failure)

    def _settle(self, running: _Running) -> None:
        try:
            reports: list[PhaseReport] = ray.get(running.ref)
            self.reports.extend(reports)
            self._log("phase_finished", phase=running.phase)
            del self._running[running.phase]
            return
        except (ray.exceptions.RayActorError, ray.exceptions.RayTaskError) as exc:
            failure = type(exc).__name__
            detail = str(exc)[-2000:]
        if "CollectorFailed" in detail:  # the run is failing as a whole; wait() says so next
            return
        self._stop_generation(running)
        todo = split_by_access(remaining(running.items, self.done_keys()), self.providers)[0]
        self._log("phase_subagent_lost", phase=running.phase, error=failure, detail=detail,
                  remaining=len(todo), generation=running.generation)
        if not todo:
            del self._running[running.phase]
            return
        running.generation += 1
        self.restarts[running.phase] = running.generation
        if running.generation > MAX_RESTARTS:
            self._record_lost(todo, failure)
            del self._running[running.phase]
            return
        self.progress.note(f"phase {running.phase}: subagent lost ({failure}); restarting on {len(todo)} items")
        self._start(running, todo)

    def _stop_generation(self, running: _Running) -> None:
        """Kill every actor of the phase's current generation, wait until each is dead, and
        only then hand their allowances back: a live sibling of a dead worker must not go on
        sending while a new generation redoes its keys under the same limits."""
        handles = [running.actor] + [worker_handle(self.run_id, running.phase, running.generation, i)
                                     for i in range(max(1, running.workers))]
        for handle in handles:
            if handle is not None:
                with contextlib.suppress(Exception):
                    ray.kill(handle, no_restart=True)
        for handle in handles:
            if handle is not None:
                wait_dead(handle)
        prefix = holder_id(self.run_id, running.phase, running.generation, 0).rsplit(":w", 1)[0] + ":w"
        for limiter in self._limiters.values():
            with contextlib.suppress(Exception):
                ray.get(limiter.release_clients.remote(prefix), timeout=10)

    def _stop_all(self) -> None:
        for running in list(self._running.values()):
            self._stop_generation(running)
        self._running.clear()

    def _record_lost(self, todo: list[WorkItem], failure: str) -> None:
        """After MAX_RESTARTS, the remaining keys still get a terminal record: nothing is lost."""
        records = [CallRecord(run_id=self.run_id, phase=i.phase, item_id=i.item_id, model=i.model,
                              variant=i.variant, repeat=i.repeat, status="error",
                              error_class=ErrorClass.SUBAGENT_LOST, error_message=f"subagent died {MAX_RESTARTS + 1} times: {failure}")
                   for i in todo]
        ray.get(self.collector.add.remote(records))

    def _limiter_report(self) -> dict[str, Any]:
        report: dict[str, Any] = {}
        for name, handle in self._limiters.items():
            with contextlib.suppress(Exception):
                stats = ray.get(handle.stats.remote(), timeout=10)
                report[name] = {k: stats.get(k) for k in ("concurrency_limit", "configured_concurrency",
                                                          "granted_requests", "reclaimed_clients")}
                adaptive = stats.get("adaptive") or {}
                report[name]["adaptive_changes"] = adaptive.get("history", [])[-20:]
                report[name]["rate_limited"] = adaptive.get("rate_limited_total", 0)
        return report

    def _finish(self, status: str, failure: str | None = None) -> RunResult:
        with contextlib.suppress(Exception):  # their failure shows as the collector's own state
            ray.get(self._pending_adds, timeout=COLLECTOR_TIMEOUT_S)
        if self._logged:  # finished or failed, each: an event lost with a dead collector is no record
            ray.wait(self._logged, num_returns=len(self._logged), timeout=COLLECTOR_TIMEOUT_S)
        limiters = self._limiter_report()
        for limiter in self._limiters.values():
            with contextlib.suppress(Exception):
                ray.get(limiter.deregister.remote(self.run_id), timeout=10)
        counts: dict[str, dict[str, int]] = {}
        try:
            closed = ray.get(self.collector.close.remote(), timeout=COLLECTOR_TIMEOUT_S)
            counts = closed["counts"]
            if closed["failed"] and status != "failed":
                status, failure = "failed", str(closed["failed"])
        except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as exc:
            if status == "completed":
                status, failure = "interrupted", f"the collector died and could not be restarted ({type(exc).__name__})"
        self.progress.close(counts)
        # the collector is closed: from here on the driver is the run directory's only writer
        notes: list[str] = []
        summary = self.run_dir.summary_path
        try:
            summary, notes = write_run_summary(self.run_dir, status, failure=failure, reports=self.reports,
                                               extra_manifest={"limiters": limiters})
        except OSError as exc:  # a full or failing disk: the records are safe, the manifest is not
            notes.append(f"summary and manifest not written: {exc}")
            if status == "completed":
                status, failure = "failed", f"finishing the run failed: {exc}"
        try:
            self._log_finish(status, failure, counts, limiters, notes)
        except OSError as exc:  # the aggregate is rebuilt by the next run or `fleetbench aggregate`
            notes.append(f"aggregate or event log not written: {exc}")
        for note in notes:
            self.progress.note(f"note: {note}")
        return RunResult(self.run_id, self.run_dir.path, status, counts, summary, dict(self.restarts), failure)

    def _log_finish(self, status: str, failure: str | None, counts: dict[str, dict[str, int]],
                    limiters: dict[str, Any], notes: list[str]) -> None:
        events = EventLog(self.run_dir.events_path, redact=default_redactor().redact)
        try:
            for name, info in limiters.items():
                for change in info.get("adaptive_changes", []):
                    events.emit("concurrency_adjusted", provider=name, **change)
            if status == "completed":
                manifest = self.run_dir.read_manifest()
                config, _ = run_config(manifest)
                calibrate_now = wants_calibration(manifest, config)
                notes += post_run(self.store.runs_dir, config, calibrate_now=calibrate_now)
                events.emit("aggregated", calibrated=calibrate_now, notes=notes)
            events.emit("run_finalized", status=status, failure=failure,
                        records=sum(sum(c.values()) for c in counts.values()))
        finally:
            events.close()

    def _stop_servers(self) -> None:
        for server in (self.sim, self.local):
            if server:
                server.stop()

    def close(self) -> None:
        self._stop_servers()
        if self._started_ray:
            ray.shutdown()


def run(spec: RunSpec, *, runs_dir: Path, run_id: str | None = None, resume: str | None = None,
        address: str | None = None, parent_run: str | None = None, progress: RunProgress | None = None,
        argv: Sequence[str] | None = None, prepared: PreparedRun | None = None,
        allow_changed_inputs: bool = False) -> RunResult:
    """Run every phase of `spec` in parallel subagents, wait, collect. The CLI's `run`."""
    session = RunSession(spec, runs_dir=runs_dir, run_id=run_id, resume=resume, address=address,
                         parent_run=parent_run, progress=progress, argv=argv, prepared=prepared,
                         allow_changed_inputs=allow_changed_inputs)
    try:
        for phase in session.prepared.plans:
            session.spawn(phase)
        return session.wait()
    finally:
        session.close()
