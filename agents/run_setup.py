"""Validate a run request and plan it, before anything touches the archive or Ray.

Why first and separate: bad input must exit 2 with nothing written, so every file, field,
model and phase is checked here; the driver only starts once this returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.config import FleetConfig, load_config
from agents.phases import DEFAULT_ORDER, Phase, PlanContext, make_phase
from agents.plan import WorkItem, check_unique
from agents.providers import KNOWN_PROVIDERS
from agents.suite import LoadedSuite, load_suite
from harness.errors import InputError
from harness.model_ref import ModelRef

DEFAULT_SUITE = "baseline"
DEFAULT_MODELS = ["sim/smollm2-135m-sim", "sim/gemma3-270m-sim"]


@dataclass
class RunSpec:
    """What the user asked for (CLI flags or Python arguments), before validation."""

    suites: list[str] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    limit: int | None = None
    repeat: int | None = None
    config_path: Path | None = None
    concurrency: int | None = None
    workers: int | None = None

    def to_manifest(self) -> dict[str, Any]:
        return {"suites": self.suites, "phases": self.phases, "models": self.models,
                "limit": self.limit, "repeat": self.repeat,
                "config_path": str(self.config_path) if self.config_path else None,
                "concurrency": self.concurrency, "workers": self.workers}

    @classmethod
    def from_manifest(cls, data: dict[str, Any]) -> RunSpec:
        config_path = data.get("config_path")
        return cls(suites=list(data.get("suites") or []), phases=list(data.get("phases") or []),
                   models=list(data.get("models") or []), limit=data.get("limit"),
                   repeat=data.get("repeat"), config_path=Path(config_path) if config_path else None,
                   concurrency=data.get("concurrency"), workers=data.get("workers"))


@dataclass
class PreparedRun:
    spec: RunSpec
    config: FleetConfig
    suites: list[LoadedSuite]
    models: list[ModelRef]
    phases: dict[str, Phase]
    plans: dict[str, list[WorkItem]]

    @property
    def provider_names(self) -> set[str]:
        return {m.provider for m in self.models}

    @property
    def total_items(self) -> int:
        return sum(len(p) for p in self.plans.values())


def parse_models(texts: list[str]) -> list[ModelRef]:
    refs: list[ModelRef] = []
    for text in texts:
        for part in text.split(","):
            if part.strip():
                ref = ModelRef.parse(part)
                if ref not in refs:
                    refs.append(ref)
    return refs


def prepare_run(spec: RunSpec) -> PreparedRun:
    """Load and check everything; raise InputError naming the file/line or field."""
    config = load_config(spec.config_path)
    if spec.limit is not None and spec.limit < 1:
        raise InputError("--limit", "must be at least 1")
    repeat = spec.repeat if spec.repeat is not None else config.repeat
    if repeat < 1:
        raise InputError("--repeat", "must be at least 1")
    suites = [load_suite(name) for name in (spec.suites or [DEFAULT_SUITE])]
    models = parse_models(spec.models or config.default_models or DEFAULT_MODELS)
    for model in models:
        if model.provider not in KNOWN_PROVIDERS and model.provider not in config.providers:
            known = ", ".join(sorted(set(KNOWN_PROVIDERS) | set(config.providers)))
            raise InputError("--models", f"unknown provider {model.provider!r} in {model} (known: {known})")
    phase_names = spec.phases or DEFAULT_ORDER
    phases = {name: make_phase(name) for name in dict.fromkeys(phase_names)}
    ctx = PlanContext(suites=suites, models=models, config=config, limit=spec.limit, repeat=repeat)
    plans = {name: phase.plan(ctx) for name, phase in phases.items()}
    for plan in plans.values():
        check_unique(plan)
    return PreparedRun(spec=spec, config=config, suites=suites, models=models, phases=phases, plans=plans)
