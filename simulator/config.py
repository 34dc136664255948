"""Configuration schema of the provider simulator.

Why pydantic with `extra="forbid"`: a benchmark that silently ignores a misspelt fault
rule would "pass" while testing nothing, so every unknown key is an error that names
the file and the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, ValidationError, model_validator

from simulator.brains_bfcl import BfclAnswer

ApiName = Literal["openai", "anthropic", "ollama", "responses"]
ReasoningEffort = Literal["minimal", "low", "medium", "high"]
FaultKind = Literal[
    "server_error", "rate_limit", "quota", "overloaded", "stream_cut", "malformed", "hang", "auth"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


OutputKind = Literal["text", "json", "tool_call", "echo", "drift", "refusal", "choices", "bfcl"]
REFUSAL_TEXT = "I'm sorry, but I can't help with that."


class OutputSpec(_Strict):
    """What a brain says. Every kind is deterministic, so a test can name the failure it
    scripts and assert that the benchmark reports exactly that failure:

    - `text`: `text`, always. `json`: `json_template` as compact JSON.
    - `echo`: the last user message (handy for asserting routing).
    - `tool_call`: a call of `tool_name` with `tool_arguments`; a name the request did not
      offer is a hallucinated tool.
    - `drift`: `json_template` whose format decays as the prompt grows (the simulator's
      estimate of the prompt tokens, system and tools included): below `drift_clean_below`
      the bare JSON; from there up to `drift_broken_above` the JSON in prose and a code fence;
      above it prose and a JSON object cut in half (not parseable). This is how small models
      fail the long-context phase: the instruction "only JSON" is forgotten first, then the
      JSON itself.
    - `refusal`: `refusal_text` (and, when tools are offered, no tool call).
    - `choices`: `choices[(n - 1) % len(choices)]` for the model's n-th request (the
      per-model sequence number that fault rules' `at` also counts, rejected requests
      included), e.g. a judge that contradicts itself on the same question.
    - `bfcl`: the installed BFCL's gold calls for the question, as prompt-mode text, altered
      as `bfcl_answer` says (`simulator/brains_bfcl.py`).
    """

    kind: OutputKind = "text"
    text: str = (
        "The quick brown fox jumps over the lazy dog while the simulator streams tokens at a steady pace."
    )
    json_template: dict[str, Any] = Field(default_factory=lambda: {"answer": 42})
    tool_name: str = "get_weather"
    tool_arguments: dict[str, Any] = Field(default_factory=lambda: {"city": "Paris"})
    drift_clean_below: int = Field(default=4096, ge=1, description="prompt tokens; below: clean JSON")
    drift_broken_above: int = Field(default=16384, ge=1, description="prompt tokens; above: broken JSON")
    refusal_text: str = Field(default=REFUSAL_TEXT, min_length=1)
    choices: list[str] = Field(default_factory=list)
    bfcl_answer: BfclAnswer = "correct"

    @model_validator(mode="after")
    def _consistent(self) -> OutputSpec:
        if self.drift_broken_above < self.drift_clean_below:
            raise ValueError("drift_broken_above must be >= drift_clean_below")
        if self.kind == "choices" and not self.choices:
            raise ValueError("kind 'choices' needs a non-empty `choices` list")
        return self


class BrainConfig(_Strict):
    """Latency and output shape of one simulated model.

    `output_tokens` is the number of content chunks (one "token" each); text shorter than
    that yields fewer chunks and usage reports what was actually sent.
    """

    ttft_ms: float = Field(default=50.0, ge=0)
    itl_ms: float = Field(default=10.0, ge=0)
    output_tokens: int = Field(default=16, ge=1)
    output: OutputSpec = Field(default_factory=OutputSpec)
    context_window: int | None = Field(default=None, ge=1)
    chars_per_token: float = Field(default=4.0, gt=0)
    # Reasoning models (OpenAI Responses `reasoning.effort`): hidden tokens per effort, and the
    # "thinking" time they cost before the first visible token, so `@high` is measurably
    # slower than `@low` and reports more `reasoning_tokens`. Unlisted effort = no reasoning.
    reasoning_tokens: dict[ReasoningEffort, NonNegativeInt] = Field(default_factory=dict)
    reasoning_ms_per_token: float = Field(default=0.0, ge=0)
    # Whether the reasoning streams as text (Anthropic thinking deltas, Responses
    # `reasoning_text` deltas as open-weight reasoning models send them) or shows only its
    # start and end (OpenAI's hidden reasoning). None: the wire's own default (Anthropic
    # streams thinking, Responses hides it).
    reasoning_text: bool | None = None


class LimitConfig(_Strict):
    """Provider-style limits: a sliding window over accepted arrivals, and a concurrency cap."""

    requests_per_window: int | None = Field(default=None, ge=1)
    window_s: float = Field(default=60.0, gt=0)
    max_concurrent: int | None = Field(default=None, ge=1)


class FaultRule(_Strict):
    """One injected failure. Fires when `at` lists the request's per-model sequence number
    (1-based) or, failing that, with probability `rate` from the seeded RNG."""

    kind: FaultKind
    rate: float | None = Field(default=None, ge=0, le=1)
    at: list[int] | None = None
    model: str | None = Field(default=None, description="fnmatch pattern; None = every model")
    api: ApiName | None = None
    retry_after_s: float | None = Field(default=None, ge=0)
    retry_after_format: Literal["seconds", "http_date", "ms", "openai_reset"] = "seconds"
    status: int | None = Field(default=None, ge=100, le=599)
    cut_after_tokens: int = Field(default=2, ge=0)
    hang_s: float = Field(default=3600.0, ge=0)


class SimConfig(_Strict):
    """Whole simulator configuration; swapped atomically by `SimServer.configure`."""

    models: dict[str, BrainConfig] = Field(default_factory=dict)
    default_brain: BrainConfig = Field(default_factory=BrainConfig)
    unknown_model_404: bool = False
    limits: LimitConfig = Field(default_factory=LimitConfig)
    per_model_limits: dict[str, LimitConfig] = Field(default_factory=dict)
    faults: list[FaultRule] = Field(default_factory=list)
    api_keys: list[str] | None = None
    seed: int = 0


def load_sim_config(path: Path) -> SimConfig:
    """Parse a YAML or JSON file into SimConfig.

    Raises ValueError naming the file and the offending field(s), so a CLI user can fix
    the file without reading a traceback.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ValueError(f"{path}: cannot read simulator config: {err}") from err
    try:
        raw: object = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise ValueError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {err}") from err
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):  # ValueError, not TypeError: callers catch one error type for bad files
        raise ValueError(f"{path}: top level must be a mapping, got {type(raw).__name__}")  # noqa: TRY004
    try:
        return SimConfig.model_validate(raw)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in err.errors()
        )
        raise ValueError(f"{path}: invalid simulator config: {problems}") from err
