"""The fleetbench config file: providers, limits, retry policy, concurrency, defaults.

Why pydantic with `extra="forbid"`: a typo in a limit (`max_concurent`) must stop the run
with the file line, not silently run unthrottled against a paid API. Keys are never in
this file, only the *names* of environment variables holding them (`api_key_env`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from calibration.settings import CalibrationSettings
from harness.errors import InputError
from harness.limit_contract import ProviderLimits
from harness.model_ref import ModelRef
from harness.providers.ollama_preflight import PreflightThresholds
from harness.retry import RetryPolicy
from harness.yaml_input import locate_line, read_yaml, validate_document

DEFAULT_TIMEOUT_S = 60.0


def _model_name(text: str) -> str:
    try:
        ModelRef.parse(text)
    except InputError as exc:
        raise ValueError(exc.message) from None
    return text


class ProviderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str | None = None
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                                    description="name of the env var holding the key, never the key")
    limits: ProviderLimits = Field(default_factory=ProviderLimits)
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0)
    transport: Literal["aiohttp", "httpx"] = "aiohttp"


class ToolUseSettings(BaseModel):
    """Tier thresholds of the `tool-use` phase, on a model's best prompt variant's accuracy."""

    model_config = ConfigDict(extra="forbid")

    tier1_min: float = Field(default=0.8, ge=0, le=1, description="tier 1 (capable) at or above")
    tier2_min: float = Field(default=0.3, ge=0, le=1, description="tier 2 (partial) at or above")

    @model_validator(mode="after")
    def _ordered(self) -> ToolUseSettings:
        if self.tier2_min > self.tier1_min:
            raise ValueError("tier2_min must not exceed tier1_min")
        return self


class FleetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    concurrency: int = Field(default=8, ge=1, description="in-flight calls per phase subagent")
    workers_per_phase: int = Field(default=1, ge=1, description="fan-out worker actors per phase")
    default_models: list[Annotated[str, AfterValidator(_model_name)]] = Field(default_factory=list)
    simulator: Path | None = Field(default=None, description="simulator config for `sim/...` models")
    repeat: int = Field(default=1, ge=1)
    preflight: PreflightThresholds = Field(default_factory=PreflightThresholds,
                                           description="resource hygiene before runs on Ollama servers")
    tool_use: ToolUseSettings = Field(default_factory=ToolUseSettings)
    calibration: CalibrationSettings = Field(default_factory=CalibrationSettings,
                                             description="rubric, judges, EMA weights, model selection")

    def timeout_for(self, provider: str) -> float:
        settings = self.providers.get(provider)
        return settings.timeout_s if settings is not None else DEFAULT_TIMEOUT_S


def load_config(path: Path | None) -> FleetConfig:
    """None gives the defaults. A relative `simulator:` path is relative to the config file,
    so a config works from any working directory."""
    if path is None:
        return FleetConfig()
    doc = read_yaml(path)
    config = validate_document(doc, FleetConfig)
    if config.simulator is not None:
        sim = config.simulator.expanduser()
        if not sim.is_absolute():
            sim = path.parent / sim
        if not sim.is_file():
            line = locate_line(doc.root, ("simulator",))
            raise InputError(f"{path}:{line}", f"simulator: file not found: {sim}")
        config = config.model_copy(update={"simulator": sim})
    return config
