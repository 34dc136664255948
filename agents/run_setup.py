"""Validate a run request and plan it, before anything touches the archive or Ray.

Why first and separate: bad input must exit 2 with nothing written, so every file, field,
model and phase is checked here; the driver only starts once this returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import msgspec

from agents.config import FleetConfig, load_config
from agents.load import LoadShape
from agents.phases import DEFAULT_ORDER, Phase, PlanContext, make_phase
from agents.plan import WorkItem, check_unique
from agents.providers import known_provider_names
from agents.suite import LoadedSuite, load_suite
from harness.catalogue import Catalogue, load_catalogue
from harness.errors import InputError
from harness.keys import load_env_files
from harness.model_ref import ModelRef
from harness.records import RecordKey
from suites import SUITES_DIR

DEFAULT_SUITE = "baseline"
DEFAULT_MODELS = ["local/smollm2-135m", "local/gemma3-270m"]
# "quick": a few calls per phase (each phase's `quick_options`), minutes on a laptop;
# "full": every phase's complete defaults (the seeds' plan)
PLANS = ("quick", "full")
# the quick plan's reply budget. Why a cap: on two shared cores the embedded models write
# ~20 tokens/s each while every phase runs at once, and the base model fills any budget it
# is given, so 256-384-token replies made the tour take 8 minutes; 80 tokens still hold
# every quick item's expected answer (a router JSON, a label, a command, three bullets, a tool call)
QUICK_MAX_TOKENS = 80


def default_plan(suites: list[str], models: list[str]) -> str:
    """The plan when `--plan` is not given. Why it depends on the arguments: the quick plan
    trims each phase to a few calls so the no-argument main job is a tour in minutes, but
    a user who names a suite or models asked for those, and trimming them silently would
    measure a handful of calls while the table reads like the whole suite."""
    return "quick" if not suites and not models else "full"
CATALOGUE_PATH = SUITES_DIR / "catalogue.yaml"


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
    only_keys: list[RecordKey] | None = None  # a retry run: just these keys of its parent's plan
    stage_models: dict[str, list[str]] = field(default_factory=dict)  # the `stages` phase's candidates
    plan: str = "full"  # one of PLANS; the CLI's default is default_plan()
    # phase options (JSON-able): context_lengths, tool_mode, variants, judge settings...
    options: dict[str, Any] = field(default_factory=dict)

    def to_manifest(self) -> dict[str, Any]:
        return {"suites": self.suites, "phases": self.phases, "models": self.models,
                "limit": self.limit, "repeat": self.repeat,
                # absolute: the collector (another process, maybe another cwd) reloads it
                "config_path": str(self.config_path.resolve()) if self.config_path else None,
                "concurrency": self.concurrency, "workers": self.workers,
                "only_keys": [list(k) for k in self.only_keys] if self.only_keys is not None else None,
                "stage_models": self.stage_models, "options": self.options, "plan": self.plan}

    @classmethod
    def from_manifest(cls, data: dict[str, Any]) -> RunSpec:
        config_path = data.get("config_path")
        return cls(suites=list(data.get("suites") or []), phases=list(data.get("phases") or []),
                   models=list(data.get("models") or []), limit=data.get("limit"),
                   repeat=data.get("repeat"), config_path=Path(config_path) if config_path else None,
                   concurrency=data.get("concurrency"), workers=data.get("workers"),
                   only_keys=[_as_key(k) for k in data["only_keys"]] if data.get("only_keys") is not None
                   else None, stage_models=dict(data.get("stage_models") or {}),
                   options=dict(data.get("options") or {}), plan=str(data.get("plan") or "full"))


def _as_key(raw: list[Any]) -> RecordKey:
    phase, item_id, model, variant, repeat = raw
    return (str(phase), str(item_id), str(model), str(variant), int(repeat))


@dataclass
class PreparedRun:
    spec: RunSpec
    config: FleetConfig
    suites: list[LoadedSuite]
    models: list[ModelRef]
    phases: dict[str, Phase]
    plans: dict[str, list[WorkItem]]
    catalogue: Catalogue
    warnings: list[str] = field(default_factory=list)
    load: LoadShape | None = None

    def model_apis(self, provider: str) -> dict[str, str]:
        return self.catalogue.model_apis(provider)

    @property
    def fallback_providers(self) -> set[str]:
        """Providers of the catalogue fallbacks of the run's models (resolved too, so a
        quota-exhausted call can move on)."""
        names: set[str] = set()
        for model in self.run_models:
            entry = self.catalogue.resolve(model.provider, model.model)
            for fallback in self.catalogue.fallback_chain(entry) if entry else []:
                names.add(fallback.provider)
        return names - self.provider_names

    @property
    def run_models(self) -> list[ModelRef]:
        """Every model the plans call: the chosen ones plus any a phase brings by default
        (claude-runs, codex-retry)."""
        seen = dict.fromkeys(self.models)
        for plan in self.plans.values():
            for item in plan:
                seen.setdefault(item.model_ref)
        return list(seen)

    @property
    def provider_names(self) -> set[str]:
        return {m.provider for m in self.run_models}

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


def context_windows(models: list[ModelRef], catalogue: Catalogue) -> dict[str, int]:
    """`provider/model` -> the catalogue's context window, for the models it knows."""
    windows: dict[str, int] = {}
    for model in models:
        entry = catalogue.resolve(model.provider, model.model)
        if entry is not None and entry.context_window:
            windows[model.name] = entry.context_window
    return windows


def capped_reply(item: WorkItem, max_tokens: int) -> WorkItem:
    """`item` with its reply budget at most `max_tokens` (the quick plan's cap)."""
    if item.request.max_tokens <= max_tokens:
        return item
    return msgspec.structs.replace(item, request=msgspec.structs.replace(item.request, max_tokens=max_tokens))


def phase_context(phase: Phase, ctx: PlanContext, plan: str) -> PlanContext:
    """The context `phase` plans from: in the quick plan, its quick defaults fill whatever
    the user did not give (`--limit` and every phase flag still win)."""
    if plan != "quick":
        return ctx
    quick = phase.quick_options(ctx)
    limit = quick.pop("limit", None)
    return replace(ctx, limit=ctx.limit if ctx.limit is not None else limit if isinstance(limit, int) else None,
                   options={**quick, **ctx.options})


def canonical_models(models: list[ModelRef], catalogue: Catalogue) -> tuple[list[ModelRef], list[str]]:
    """Aliases become exact IDs (`anthropic/claude-haiku` -> the current Haiku); a model the
    catalogue does not know is kept, with a warning that its cost is unknown."""
    out: list[ModelRef] = []
    warnings: list[str] = []
    for model in models:
        entry = catalogue.resolve(model.provider, model.model)
        if entry is None:
            warnings.append(f"{model}: not in the catalogue; cost will be unknown")
            out.append(model)
        else:
            out.append(ModelRef(model.provider, entry.id, model.variant))
    return list(dict.fromkeys(out)), warnings


def prepare_run(spec: RunSpec) -> PreparedRun:
    """Load and check everything; raise InputError naming the file/line or field."""
    load_env_files()  # .env and .env.benchmark-models; never overrides the real environment
    config = load_config(spec.config_path)
    catalogue = load_catalogue(CATALOGUE_PATH)
    if spec.limit is not None and spec.limit < 1:
        raise InputError("--limit", "must be at least 1")
    repeat = spec.repeat if spec.repeat is not None else config.repeat
    if repeat < 1:
        raise InputError("--repeat", "must be at least 1")
    if spec.plan not in PLANS:
        raise InputError("--plan", f"expected one of {', '.join(PLANS)}, got {spec.plan!r}")
    suites = [load_suite(name) for name in (spec.suites or [DEFAULT_SUITE])]
    models = parse_models(spec.models or config.default_models or DEFAULT_MODELS)
    known = known_provider_names(config)
    for model in models:
        if model.provider not in known:
            raise InputError("--models", f"unknown provider {model.provider!r} in {model} "
                                         f"(known: {', '.join(sorted(known))})")
    models, warnings = canonical_models(models, catalogue)
    phase_names = spec.phases or suite_phases(suites) or DEFAULT_ORDER
    phases = {name: make_phase(name, config) for name in dict.fromkeys(phase_names)}
    ctx = PlanContext(suites=suites, models=models, config=config, limit=spec.limit, repeat=repeat,
                      options={**spec.options, "models_explicit": bool(spec.models), "stage_models": {
                          stage: [str(m) for m in parse_models(names)] for stage, names in spec.stage_models.items()}},
                      context_windows=context_windows(models, catalogue))
    plans = {name: phase.plan(phase_context(phase, ctx, spec.plan)) for name, phase in phases.items()}
    if spec.plan == "quick":
        plans = {name: [capped_reply(item, QUICK_MAX_TOKENS) for item in plan] for name, plan in plans.items()}
    if spec.only_keys is not None:
        wanted = set(spec.only_keys)
        plans = {name: [i for i in plan if i.key in wanted] for name, plan in plans.items()}
        plans = {name: plan for name, plan in plans.items() if plan}
        phases = {name: phase for name, phase in phases.items() if name in plans}
    for plan in plans.values():
        check_unique(plan)
    return PreparedRun(spec=spec, config=config, suites=suites, models=models, phases=phases, plans=plans,
                       catalogue=catalogue, warnings=warnings, load=load_shape(spec.options))


def suite_phases(suites: list[LoadedSuite]) -> list[str]:
    """With no --phase: the phases every given suite is for (a `bfcl:` suite is for tool-use
    alone), or none when any suite is for the default plan."""
    if not suites or any(not s.suite.phases for s in suites):
        return []
    return list(dict.fromkeys(p for s in suites for p in s.suite.phases))


def load_shape(options: dict[str, Any]) -> LoadShape | None:
    """`--rate R [--arrivals constant|poisson] [--seed N]` as a load shape; None: closed loop."""
    rate = options.get("rate")
    arrivals = options.get("arrivals", "constant")
    if arrivals not in ("constant", "poisson"):
        raise InputError("--arrivals", f"must be constant or poisson, not {arrivals!r}")
    if rate is None:
        if "arrivals" in options:
            raise InputError("--arrivals", "needs --rate")
        return None
    if not isinstance(rate, int | float) or isinstance(rate, bool) or not rate > 0:
        raise InputError("--rate", f"must be a positive number of calls per second, not {rate!r}")
    seed = options.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise InputError("--seed", f"must be an integer, not {seed!r}")
    return LoadShape(rate=float(rate), arrivals=arrivals, seed=seed)
