"""Calibration settings: the `calibration:` section of the fleetbench config file.

Why in config, not code: rubric weights, the EMA learning rate, the change threshold and
the selection weights and price caps are policy a team argues about; changing them must
not need a release, and a typo must stop the command with the file and the field.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

RUBRIC_DEFAULT: dict[str, int] = {
    "correctness": 20, "structure": 20, "performance": 15,
    "best_practices": 20, "documentation": 15, "testing": 10,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RubricSettings(_Strict):
    """Criterion -> maximum points. The 100-point rubric by default."""

    weights: dict[str, int] = Field(default_factory=lambda: dict(RUBRIC_DEFAULT))

    @model_validator(mode="after")
    def _positive(self) -> RubricSettings:
        bad = [k for k, v in self.weights.items() if v <= 0]
        if bad:
            raise ValueError(f"rubric weights must be positive: {', '.join(bad)}")
        if not self.weights:
            raise ValueError("rubric needs at least one criterion")
        return self

    @property
    def total(self) -> int:
        return sum(self.weights.values())


class JudgeSettings(_Strict):
    mode: Literal["direct", "reasoned"] = "direct"
    consistency_runs: int = Field(default=3, ge=1)
    max_tokens: int = Field(default=256, ge=16)


class EmaSettings(_Strict):
    """Routing weights move by w <- w + lr * (observed - w), applied only when the relative
    change |new - old| / old passes `threshold` (the calibration workflow's "update if >10% change")."""

    learning_rate: float = Field(default=0.1, gt=0, le=1)
    threshold: float = Field(default=0.10, ge=0)
    auto: bool = Field(default=True, description="the collector runs calibrate after every run")
    # category -> model expected to lead it; a different leader is logged as a surprise
    expected_leaders: dict[str, str] = Field(default_factory=dict)


class SelectionSettings(_Strict):
    """Seed 004: overall = weighted public benchmarks; final = weighted criteria."""

    benchmark_weights: dict[str, float] = Field(
        default_factory=lambda: {"mmlu": 0.3, "humaneval": 0.3, "gsm8k": 0.2, "mt_bench": 0.2})
    criteria_weights: dict[str, float] = Field(
        default_factory=lambda: {"benchmark": 0.4, "cost_efficiency": 0.3, "context": 0.15,
                                 "availability": 0.15})
    default_cap_per_m: float = Field(default=0.50, ge=0)
    max_cap_per_m: float = Field(default=1.00, ge=0)
    measured_weight: float = Field(
        default=0.5, ge=0, le=1,
        description="share of fleetbench's own measured score in `overall` where one exists")
    low_score_threshold: float = Field(default=70.0, ge=0, le=100,
                                       description="a result scored under this upgrades to MAX")


class CalibrationSettings(_Strict):
    rubric: RubricSettings = Field(default_factory=RubricSettings)
    judge: JudgeSettings = Field(default_factory=JudgeSettings)
    ema: EmaSettings = Field(default_factory=EmaSettings)
    selection: SelectionSettings = Field(default_factory=SelectionSettings)
