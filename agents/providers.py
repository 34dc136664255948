"""Resolve a provider name to its API kind, endpoint, key variable, limits and adapter.

Why here and not in harness: which providers exist, where their keys come from, and which
local server (simulator, embedded models) stands in for them is run configuration;
harness adapters only know how to talk. `ResolvedProvider` is plain data so it can be
shipped to any node; `build(api)` makes the adapter where the calls happen.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Literal

from agents.config import FleetConfig, ProviderSettings
from harness.errors import InputError
from harness.limits import ProviderLimits
from harness.redact import register_secrets
from harness.seam import ProviderAPI

ApiKind = Literal["chat", "responses", "messages", "agent-sdk", "ollama"]

SIM_PROVIDER = "sim"
LOCAL_PROVIDER = "local"
SIM_KEY = "sim-local-key"


@dataclass(frozen=True)
class ProviderDefaults:
    api: ApiKind
    base_url_env: str | None
    default_base_url: str | None
    api_key_env: str | None  # None: the provider takes no key (Ollama, embedded models)


KNOWN_PROVIDERS: dict[str, ProviderDefaults] = {
    SIM_PROVIDER: ProviderDefaults("chat", None, None, "FLEETBENCH_SIM_API_KEY"),
    LOCAL_PROVIDER: ProviderDefaults("ollama", None, None, None),
    "openai": ProviderDefaults("chat", "OPENAI_BASE_URL", "https://api.openai.com/v1", "OPENAI_API_KEY"),
    "anthropic": ProviderDefaults("messages", "ANTHROPIC_BASE_URL", "https://api.anthropic.com",
                                  "ANTHROPIC_API_KEY"),
    "claude-sdk": ProviderDefaults("agent-sdk", "ANTHROPIC_BASE_URL", None, "ANTHROPIC_API_KEY"),
    "ollama": ProviderDefaults("ollama", "OLLAMA_HOST", "http://127.0.0.1:11434", None),
}


def known_provider_names(config: FleetConfig) -> set[str]:
    from harness.providers.presets import PRESETS

    return set(KNOWN_PROVIDERS) | set(PRESETS) | {"llm"} | set(config.providers)


@dataclass(frozen=True)
class ResolvedProvider:
    """A provider ready to use: endpoint, key variable (never the key), limits."""

    name: str
    api: ApiKind
    base_url: str | None
    api_key_env: str | None
    settings: ProviderSettings
    responses_models: frozenset[str] = frozenset()
    # read once on the driver (which loaded .env files) and shipped to the subagents, so a
    # node without the variable can still call; never shown in a repr or written anywhere
    key_value: str | None = field(default=None, repr=False)

    @property
    def limits(self) -> ProviderLimits:
        return self.settings.limits

    def api_key(self) -> str | None:
        return self.key_value

    def has_access(self) -> bool:
        """A keyed provider without its key is left out of a run (and said so), not failed."""
        return self.api_key_env is None or bool(self.api_key())

    def connection_key(self) -> str:
        """Limiter identity: provider plus a hash of the key (or the host), never the key."""
        key = self.api_key()
        digest = hashlib.sha256(key.encode()).hexdigest()[:12] if key else (self.base_url or "nokey")
        return f"{self.name}:{digest}"

    def api_for(self, model_id: str) -> ApiKind:
        """OpenAI's Codex models speak the Responses API; everything else the provider's own."""
        return "responses" if model_id in self.responses_models else self.api

    def build(self, api: ApiKind | None = None) -> ProviderAPI:
        if self.key_value:
            register_secrets(self.key_value)  # this process's redactor must know it too
        api = api or self.api
        if api == "chat":
            from harness.providers.openai_compat import OpenAICompatProvider

            assert self.base_url is not None
            return OpenAICompatProvider(self.name, self.base_url, self.api_key(), self.api_key_env or "",
                                        transport=self.settings.transport)
        if api == "responses":
            from harness.providers.openai_responses import OpenAIResponsesProvider

            assert self.base_url is not None
            return OpenAIResponsesProvider(self.name, self.base_url, self.api_key(), self.api_key_env or "",
                                           transport=self.settings.transport)
        if api == "messages":
            from harness.providers.anthropic_messages import AnthropicProvider

            return AnthropicProvider(self.name, self.base_url, self.api_key(),
                                     self.api_key_env or "ANTHROPIC_API_KEY", transport=self.settings.transport)
        if api == "agent-sdk":
            from harness.providers.claude_sdk import ClaudeAgentSDKProvider

            return ClaudeAgentSDKProvider(self.name, self.base_url, self.api_key(),
                                          self.api_key_env or "ANTHROPIC_API_KEY")
        from harness.providers.ollama_chat import OllamaProvider

        return OllamaProvider(self.name, self.base_url)


def _default_settings(name: str, sim_limits: ProviderLimits | None) -> ProviderSettings:
    """The simulator's own limits for `sim`; one call at a time for the embedded models
    (llama.cpp generates serially, so more in flight would only turn queueing into TTFT)."""
    if name == SIM_PROVIDER and sim_limits is not None:
        return ProviderSettings(limits=sim_limits)
    if name == LOCAL_PROVIDER:
        return ProviderSettings(limits=ProviderLimits(max_concurrent=1))
    return ProviderSettings()


def resolve_provider(name: str, config: FleetConfig, *, sim_url: str | None = None,
                     sim_limits: ProviderLimits | None = None, local_url: str | None = None,
                     responses_models: frozenset[str] = frozenset()) -> ResolvedProvider:
    """Raise InputError for an unknown provider or one with no endpoint. An unconfigured
    `sim` provider takes the simulator's own limits, so our bursts never trip them."""
    from harness.providers.presets import preset_for

    settings = config.providers.get(name)
    defaults = KNOWN_PROVIDERS.get(name)
    api: ApiKind = defaults.api if defaults else "chat"
    base_url: str | None = None
    key_env: str | None = defaults.api_key_env if defaults else f"{name.upper().replace('-', '_')}_API_KEY"
    if defaults is None:
        preset = preset_for(name, os.environ)
        if preset is None and settings is None:
            known = ", ".join(sorted(known_provider_names(config)))
            raise InputError("--models", f"unknown provider {name!r} (known: {known})")
        if preset is not None:
            base_url, key_env = preset.base_url, preset.api_key_env
    elif name == SIM_PROVIDER:
        base_url = f"{sim_url}/v1" if sim_url else None
    elif name == LOCAL_PROVIDER:
        base_url = local_url
    else:
        env_url = os.environ.get(defaults.base_url_env) if defaults.base_url_env else None
        base_url = env_url or defaults.default_base_url
    if settings is None:
        settings = _default_settings(name, sim_limits)
    base_url = settings.base_url or base_url
    if base_url is None and api in ("chat", "responses", "ollama"):
        raise InputError(f"providers.{name}.base_url", "no endpoint configured for this provider")
    key_env = settings.api_key_env or key_env
    key_value = os.environ.get(key_env) if key_env else None
    if name == SIM_PROVIDER and key_value is None:
        key_value = SIM_KEY
    return ResolvedProvider(name=name, api=api, base_url=base_url, api_key_env=key_env, settings=settings,
                            responses_models=responses_models, key_value=key_value)
