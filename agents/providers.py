"""Resolve a provider name to an adapter, its key, its limits and its limiter identity.

Why here and not in harness: which providers exist, where their keys come from and which
simulator stands in for them is run configuration; harness adapters only know how to talk.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from agents.config import FleetConfig, ProviderSettings
from harness.errors import InputError
from harness.limits import ProviderLimits
from harness.providers.openai_compat import OpenAICompatProvider
from harness.seam import ProviderAPI

SIM_PROVIDER = "sim"
SIM_KEY = "sim-local-key"


@dataclass(frozen=True)
class ProviderDefaults:
    base_url_env: str | None
    default_base_url: str | None
    api_key_env: str


KNOWN_PROVIDERS: dict[str, ProviderDefaults] = {
    SIM_PROVIDER: ProviderDefaults(None, None, "FLEETBENCH_SIM_API_KEY"),
    "openai": ProviderDefaults("OPENAI_BASE_URL", "https://api.openai.com/v1", "OPENAI_API_KEY"),
}


@dataclass(frozen=True)
class ResolvedProvider:
    """A provider ready to use: plain data, so it can be shipped to any node."""

    name: str
    base_url: str
    api_key_env: str
    settings: ProviderSettings

    @property
    def limits(self) -> ProviderLimits:
        return self.settings.limits

    def api_key(self) -> str | None:
        if self.name == SIM_PROVIDER:
            return os.environ.get(self.api_key_env, SIM_KEY)
        return os.environ.get(self.api_key_env)

    def connection_key(self) -> str:
        """Limiter identity: provider plus a hash of the key, never the key itself."""
        key = self.api_key()
        digest = hashlib.sha256(key.encode()).hexdigest()[:12] if key else "nokey"
        return f"{self.name}:{digest}"

    def build(self) -> ProviderAPI:
        return OpenAICompatProvider(self.name, self.base_url, self.api_key(), self.api_key_env,
                                    transport=self.settings.transport)


def resolve_provider(name: str, config: FleetConfig, sim_url: str | None,
                     sim_limits: ProviderLimits | None = None) -> ResolvedProvider:
    """Raise InputError for an unknown provider or one with no endpoint. An unconfigured
    `sim` provider takes the simulator's own limits, so our bursts never trip them."""
    defaults = KNOWN_PROVIDERS.get(name)
    settings = config.providers.get(name)
    if defaults is None and settings is None:
        known = ", ".join(sorted(set(KNOWN_PROVIDERS) | set(config.providers)))
        raise InputError("--models", f"unknown provider {name!r} (known: {known})")
    if settings is None:
        settings = ProviderSettings(limits=sim_limits) if name == SIM_PROVIDER and sim_limits else ProviderSettings()
    base_url = settings.base_url
    if base_url is None and defaults is not None:
        if name == SIM_PROVIDER:
            base_url = f"{sim_url}/v1" if sim_url else None
        else:
            env_url = os.environ.get(defaults.base_url_env) if defaults.base_url_env else None
            base_url = env_url or defaults.default_base_url
    if base_url is None:
        raise InputError(f"providers.{name}.base_url", "no endpoint configured for this provider")
    key_env = settings.api_key_env or (defaults.api_key_env if defaults else f"{name.upper()}_API_KEY")
    return ResolvedProvider(name=name, base_url=base_url, api_key_env=key_env, settings=settings)
