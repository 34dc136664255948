"""Scripted misbehaviour: the texts of the `drift`, `refusal` and `choices` output kinds.

Why scripted and not random: each benchmark phase exists to expose one way models fail
(JSON that decays as the context grows, refusing to call a tool, a judge that contradicts
itself). The end-to-end tests need a model that fails in exactly that way, every time, so
they can assert the phase reports exactly that failure and nothing else.
"""

from __future__ import annotations

import json
from typing import Literal

from simulator.config import OutputSpec

DriftStage = Literal["clean", "fenced", "broken"]

FENCE_PREFIX = "Sure! Here is the JSON you asked for:\n```json\n"
FENCE_SUFFIX = "\n```"
BROKEN_PREFIX = "Let me summarise the long document first. The JSON is "


def drift_stage(spec: OutputSpec, prompt_tokens: int) -> DriftStage:
    """Which stage of format decay a prompt of `prompt_tokens` gets (thresholds: `spec`)."""
    if prompt_tokens < spec.drift_clean_below:
        return "clean"
    if prompt_tokens <= spec.drift_broken_above:
        return "fenced"
    return "broken"


def drift_text(spec: OutputSpec, prompt_tokens: int) -> str:
    """The template as bare JSON, then wrapped in prose and a code fence, then prose and the
    JSON cut in half (a JSON object missing its second half never parses)."""
    body = json.dumps(spec.json_template)
    stage = drift_stage(spec, prompt_tokens)
    if stage == "clean":
        return body
    if stage == "fenced":
        return FENCE_PREFIX + body + FENCE_SUFFIX
    return BROKEN_PREFIX + body[: max(1, len(body) // 2)]


def choice_text(spec: OutputSpec, model_seq: int) -> str:
    """The per-model n-th request (1-based) gets choice n, cycling."""
    return spec.choices[(max(model_seq, 1) - 1) % len(spec.choices)]
