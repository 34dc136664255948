"""The Ray driver: plan, archive, spawn phase subagents, recover the dead, collect.

Why a session object: the CLI runs "all phases, wait, summarise", while scripts want to
spawn one or several subagents themselves; both share this one code path.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from agents.access import access_notes, no_access_records, split_by_access
from agents.plan import WorkItem, remaining
from agents.preflight import RunRefused, check_ollama_servers
from agents.providers import ResolvedProvider, resolve_provider
from agents.run_setup import PreparedRun, RunSpec, prepare_run
from agents.sim_host import LocalModelsHost, SimHost
from archive.manifest import build_manifest
from archive.run_id import new_run_id, validate_run_id
from archive.store import RunDir, RunStore
from cluster.collector_actor import Collector
from cluster.interrupt import ctrl_c_sets_flag
from cluster.limiter_actor import ensure_limiter
from cluster.phase_actor import PhaseSubagent, holder_id
from cluster.ray_runtime import driver_node_id, ensure_ray, node_count
from harness.errors import ErrorClass, InputError
from harness.records import CallRecord, RecordKey
from harness.redact import default_redactor

MAX_RESTARTS = 3


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
                 prepared: PreparedRun | None = None) -> None:
        self.store = RunStore(runs_dir)
        if resume:
            self.run_dir: RunDir = self.store.find(validate_run_id(resume))
            manifest = self.run_dir.read_manifest()
            spec = RunSpec.from_manifest(manifest.get("request", {}))
        # the CLI prepares (checks) the run before importing Ray, and hands it over
        self.prepared: PreparedRun = prepared or prepare_run(spec)
        if not resume:
            new_id = validate_run_id(run_id) if run_id else new_run_id()
            self.store.check_new(new_id)
        self.sim = SimHost.for_run(self.prepared)
        self.local = LocalModelsHost.for_run(self.prepared)
        self.providers: dict[str, ResolvedProvider] = {
            name: resolve_provider(name, self.prepared.config, sim_url=self.sim.url if self.sim else None,
                                   sim_limits=self.sim.limits if self.sim else None,
                                   local_url=self.local.url if self.local else None,
                                   responses_models=self.prepared.responses_models(name))
            for name in sorted(self.prepared.provider_names | self.prepared.fallback_providers)}
        try:
            self.preflight = check_ollama_servers(self.providers, runs_dir, self.prepared.config.preflight)
        except RunRefused:
            self._stop_servers()
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
        self._started_ray = ensure_ray(address)
        self.collector = Collector.options(  # type: ignore[attr-defined]
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=driver_node_id(), soft=False),
        ).remote(str(self.run_dir.path), self.run_id)
        # keep the handles: a non-detached named actor dies when its last handle goes
        self._limiters = {name: ensure_limiter(p.connection_key(), p.limits, detached=address is not None)
                          for name, p in self.providers.items()}
        self._running: dict[str, _Running] = {}
        self.restarts: dict[str, int] = {}
        totals = {name: len(plan) for name, plan in self.prepared.plans.items()}
        self.progress: RunProgress = progress or SilentProgress()
        self.progress.start(totals)
        self._log("run_started" if not resume else "run_resumed", totals=totals, nodes=node_count())
        for warning in self.prepared.warnings + [f"preflight {r.host}: {'; '.join(r.reasons)}"
                                                 for r in self.preflight if r.verdict == "warn"]:
            self.progress.note(f"warning: {warning}")

    def _log(self, event: str, **fields: Any) -> None:
        self.collector.log_event.remote(event, fields)

    def done_keys(self) -> set[RecordKey]:
        keys: list[RecordKey] = ray.get(self.collector.done_keys.remote())
        return set(keys)

    def spawn(self, phase: str, *, workers: int | None = None, scheduling: Any = None) -> None:
        """Start `phase` as its own actor subagent on the keys not yet recorded."""
        if phase not in self.prepared.plans:
            raise InputError("--phase", f"phase {phase!r} is not part of this run")
        todo, denied = split_by_access(remaining(self.prepared.plans[phase], self.done_keys()), self.providers)
        if denied:
            for note in access_notes(denied, self.providers):
                self.progress.note(f"phase {phase}: {note}")
            ray.get(self.collector.add.remote(no_access_records(denied, self.providers, self.run_id)))
        spread = "SPREAD" if node_count() > 1 else "DEFAULT"
        running = _Running(phase, self.prepared.plans[phase],
                           workers or self.prepared.spec.workers or self.prepared.config.workers_per_phase,
                           scheduling or spread)
        self._running[phase] = running
        self._start(running, todo)

    def _start(self, running: _Running, todo: list[WorkItem]) -> None:
        config = self.prepared.config
        running.actor = PhaseSubagent.options(scheduling_strategy=running.scheduling).remote(  # type: ignore[attr-defined]
            self.prepared.phases[running.phase], self.run_id, self.providers, config.retry,
            self.prepared.spec.concurrency or config.concurrency, self.collector, running.generation,
            self.prepared.catalogue)
        running.ref = running.actor.run.remote(todo, running.workers)
        self._log("phase_started", phase=running.phase, items=len(todo), generation=running.generation)

    def phase_actor(self, phase: str) -> Any:
        return self._running[phase].actor

    def counts(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = ray.get(self.collector.counts.remote())
        return counts

    def wait(self) -> RunResult:
        """Wait for every spawned phase, restarting dead subagents on their unrecorded keys."""
        status = "completed"
        with ctrl_c_sets_flag() as interrupted:
            try:
                while self._running and not interrupted.is_set():
                    refs = {r.ref: r for r in self._running.values()}
                    ready, _ = ray.wait(list(refs), num_returns=1, timeout=0.5)
                    self.progress.update(self.counts())
                    for ref in ready:
                        self._settle(refs[ref])
            except KeyboardInterrupt:
                interrupted.set()
        if interrupted.is_set():
            status = "interrupted"
            self._stop_subagents()
            self.progress.note(f"interrupted: subagents stopped; run {self.run_id} can be resumed")
        return self._finish(status)

    def _stop_subagents(self) -> None:
        """After Ctrl-C no call starts and none is recorded; what the collector acknowledged
        stays, and `--resume` redoes the rest."""
        for running in self._running.values():
            ray.kill(running.actor, no_restart=True)
            self._release_leases(running)

    def _settle(self, running: _Running) -> None:
        try:
            ray.get(running.ref)
            self._log("phase_finished", phase=running.phase)
            del self._running[running.phase]
            return
        except (ray.exceptions.RayActorError, ray.exceptions.RayTaskError) as exc:
            failure = type(exc).__name__
            detail = str(exc)[-2000:]
        self._release_leases(running)
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

    def _release_leases(self, running: _Running) -> None:
        for handle in self._limiters.values():
            for index in range(max(1, running.workers)):
                handle.release_holder.remote(holder_id(self.run_id, running.phase, running.generation, index))

    def _record_lost(self, todo: list[WorkItem], failure: str) -> None:
        """After MAX_RESTARTS, the remaining keys still get a terminal record: nothing is lost."""
        records = [CallRecord(run_id=self.run_id, phase=i.phase, item_id=i.item_id, model=i.model,
                              variant=i.variant, repeat=i.repeat, status="error",
                              error_class=ErrorClass.SUBAGENT_LOST, error_message=f"subagent died {MAX_RESTARTS + 1} times: {failure}")
                   for i in todo]
        ray.get(self.collector.add.remote(records))

    def _finish(self, status: str) -> RunResult:
        counts = self.counts()
        self.progress.close(counts)
        # the collector merges the aggregate and calibrates (it is the archive's only writer)
        summary = Path(ray.get(self.collector.finalize.remote(status, str(self.store.runs_dir))))
        return RunResult(self.run_id, self.run_dir.path, status, counts, summary, dict(self.restarts))

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
        argv: Sequence[str] | None = None, prepared: PreparedRun | None = None) -> RunResult:
    """Run every phase of `spec` in parallel subagents, wait, collect. The CLI's `run`."""
    session = RunSession(spec, runs_dir=runs_dir, run_id=run_id, resume=resume, address=address,
                         parent_run=parent_run, progress=progress, argv=argv, prepared=prepared)
    try:
        for phase in session.prepared.plans:
            session.spawn(phase)
        return session.wait()
    finally:
        session.close()
