"""OpenAI-compatible hosts as data, and the `$LLM_PROVIDER` switch; `host_for` finds any host.

Why plain data: adding a host (Scaleway, OpenRouter, a local vLLM or llama.cpp server) is a
base URL and a key variable, not code; they all speak Chat Completions through
`OpenAICompatProvider`. `LLM_PROVIDER` is the switch from the seed scripts: with
`LLM_PROVIDER=scaleway`, a run naming `llm/<model>` talks to Scaleway, so one suite runs
against any host by changing one variable. Keys are referenced by variable name only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import msgspec

from harness.errors import InputError
from harness.providers.openai_compat import CAPABILITIES
from harness.providers.registry import Host, host, hosts, register_host

GENERIC = "llm"
SWITCH_ENV = "LLM_PROVIDER"
SIM_PROVIDER = "sim"
SIM_KEY = "sim-local-key"

for _host in (
    Host("openai", "chat", "https://api.openai.com/v1", "OPENAI_BASE_URL", "OPENAI_API_KEY", switchable=True),
    Host("scaleway", "chat", "https://api.scaleway.ai/v1", "SCALEWAY_BASE_URL", "SCW_SECRET_KEY",
         switchable=True),
    Host("openrouter", "chat", "https://openrouter.ai/api/v1", "OPENROUTER_BASE_URL", "OPENROUTER_API_KEY",
         switchable=True),
    Host("vllm", "chat", None, "VLLM_BASE_URL", None, switchable=True),  # self-hosted: set the URL
    Host("llamacpp", "chat", None, "LLAMACPP_BASE_URL", None, switchable=True),
    # the simulator a run starts (its URL comes from the run); its own limits become the defaults
    Host(SIM_PROVIDER, "chat", api_key_env="FLEETBENCH_SIM_API_KEY", default_key=SIM_KEY,
         capabilities=msgspec.structs.replace(CAPABILITIES, local=True)),
):
    register_host(_host)


def switchable() -> dict[str, Host]:
    """The hosts `$LLM_PROVIDER` may name."""
    return {name: h for name, h in hosts().items() if h.switchable}


def host_for(name: str, env: Mapping[str, str]) -> Host | None:
    """The host named `name` with its base URL resolved from `env`, or None.

    `llm` resolves through `$LLM_PROVIDER` (the returned host keeps its own name, so records
    can say which host answered). An unset or unknown `$LLM_PROVIDER` for `llm` is bad
    input, reported with the known choices. `$LLM_BASE_URL` overrides the host URL.
    """
    if name == GENERIC:
        choices = switchable()
        target = env.get(SWITCH_ENV, "").strip()
        known = ", ".join(sorted(choices))
        if not target:
            raise InputError(SWITCH_ENV, f"set ${SWITCH_ENV} to use '{GENERIC}/...' models (one of: {known})")
        if target not in choices:
            raise InputError(SWITCH_ENV, f"unknown provider preset {target!r} (known: {known})")
        chosen = _resolved(choices[target], env)
        override = env.get("LLM_BASE_URL")
        return dataclasses.replace(chosen, base_url=override) if override else chosen
    found = host(name)
    return _resolved(found, env) if found is not None else None


def _resolved(found: Host, env: Mapping[str, str]) -> Host:
    url = env.get(found.base_url_env) if found.base_url_env else None
    return dataclasses.replace(found, base_url=url.rstrip("/")) if url else found
