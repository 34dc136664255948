"""Presets for OpenAI-compatible hosts: where they live and which variable holds the key.

Why plain data: adding a host (Scaleway, OpenRouter, a local vLLM or llama.cpp server) is a
base URL and a key variable, not code; they all speak Chat Completions through
`OpenAICompatProvider`. `LLM_PROVIDER` is the switch from the seed scripts: with
`LLM_PROVIDER=scaleway`, a run naming `llm/<model>` talks to Scaleway, so one suite runs
against any host by changing one variable. Keys are referenced by variable name only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.errors import InputError

GENERIC = "llm"
SWITCH_ENV = "LLM_PROVIDER"


@dataclass(frozen=True, slots=True)
class Preset:
    """One host. `base_url` None means "set `base_url_env`" (a self-hosted server)."""

    name: str
    base_url: str | None
    api_key_env: str | None  # None: the host takes no key (local servers)
    base_url_env: str | None = None  # overrides `base_url` when set
    api: str = "chat"


PRESETS: dict[str, Preset] = {
    "openai": Preset("openai", "https://api.openai.com/v1", "OPENAI_API_KEY", "OPENAI_BASE_URL"),
    "scaleway": Preset("scaleway", "https://api.scaleway.ai/v1", "SCW_SECRET_KEY", "SCALEWAY_BASE_URL"),
    "openrouter": Preset("openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY",
                         "OPENROUTER_BASE_URL"),
    "vllm": Preset("vllm", None, None, "VLLM_BASE_URL"),
    "llamacpp": Preset("llamacpp", None, None, "LLAMACPP_BASE_URL"),
}


def preset_for(name: str, env: Mapping[str, str]) -> Preset | None:
    """The preset for provider `name` with its base URL resolved from `env`, or None.

    `llm` resolves through `$LLM_PROVIDER` (the returned preset keeps the host's own name,
    so records can say which host answered). An unset or unknown `$LLM_PROVIDER` for `llm`
    is bad input, reported with the known choices. `$LLM_BASE_URL` overrides the host URL.
    """
    if name == GENERIC:
        target = env.get(SWITCH_ENV, "").strip()
        known = ", ".join(sorted(PRESETS))
        if not target:
            raise InputError(SWITCH_ENV, f"set ${SWITCH_ENV} to use '{GENERIC}/...' models (one of: {known})")
        if target not in PRESETS:
            raise InputError(SWITCH_ENV, f"unknown provider preset {target!r} (known: {known})")
        preset = _resolved(PRESETS[target], env)
        override = env.get("LLM_BASE_URL")
        if override:
            preset = Preset(preset.name, override, preset.api_key_env, preset.base_url_env, preset.api)
        return preset
    found = PRESETS.get(name)
    return _resolved(found, env) if found is not None else None


def _resolved(preset: Preset, env: Mapping[str, str]) -> Preset:
    url = env.get(preset.base_url_env) if preset.base_url_env else None
    if not url:
        return preset
    return Preset(preset.name, url.rstrip("/"), preset.api_key_env, preset.base_url_env, preset.api)
