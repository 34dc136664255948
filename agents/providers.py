"""Resolve a provider name to its API kind, endpoint, key variable, limits and adapter.

Why here and not in harness: which providers a run uses, where their keys come from, and
which local server (simulator, embedded models) the run started for them is run
configuration; what each provider *is* (its API, default URL, key variable, capabilities)
is declared by its module in `harness/providers/` and looked up in the registry, so this
module names none of them. `ResolvedProvider` is plain data so it can be shipped to any
node; `build(api)` makes the adapter where the calls happen.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from agents.config import FleetConfig, ProviderSettings
from harness.errors import InputError
from harness.limit_contract import ProviderLimits
from harness.providers.ollama_chat import LOCAL_PROVIDER
from harness.providers.presets import GENERIC, SIM_PROVIDER, host_for
from harness.providers.registry import (
    DEFAULT_API,
    AdapterSettings,
    ApiKind,
    api_spec,
    capabilities_of,
    default_limits,
    hosts,
)
from harness.redact import register_secrets
from harness.seam import ProviderAPI, connection_key

__all__ = ["LOCAL_PROVIDER", "SIM_PROVIDER", "ApiKind", "ResolvedProvider", "known_provider_names",
           "resolve_provider"]


def known_provider_names(config: FleetConfig) -> set[str]:
    return set(hosts()) | {GENERIC} | set(config.providers)


@dataclass(frozen=True)
class ResolvedProvider:
    """A provider ready to use: endpoint, key variable (never the key), limits."""

    name: str
    api: ApiKind
    base_url: str | None
    api_key_env: str | None
    settings: ProviderSettings
    # models of this provider that speak another API than its own (the catalogue's `api`)
    model_apis: Mapping[str, ApiKind] = field(default_factory=dict)
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
        """Limiter identity (the same as every adapter built from this provider reports)."""
        return connection_key(self.name, self.api_key(), self.base_url)

    def api_for(self, model_id: str) -> ApiKind:
        """The API a model speaks: the catalogue's for that model, else the provider's own."""
        return self.model_apis.get(model_id, self.api)

    def build(self, api: ApiKind | None = None) -> ProviderAPI:
        if self.key_value:
            register_secrets(self.key_value)  # this process's redactor must know it too
        settings = AdapterSettings(api_key_env=self.api_key_env, transport=self.settings.transport)
        return api_spec(api or self.api).build(self.name, self.base_url, self.api_key(), settings)


@dataclass(frozen=True)
class Served:
    """An endpoint the run started itself (the simulator, the embedded models)."""

    url: str | None
    limits: ProviderLimits | None = None


def resolve_provider(name: str, config: FleetConfig, *, sim_url: str | None = None,
                     sim_limits: ProviderLimits | None = None, local_url: str | None = None,
                     model_apis: Mapping[str, ApiKind] | None = None) -> ResolvedProvider:
    """Raise InputError for an unknown provider or one with no endpoint. A provider the run
    serves takes the URL of the server the run started, and (unconfigured) that server's own
    limits, so our bursts never trip the simulator's."""
    served = {SIM_PROVIDER: Served(sim_url, sim_limits), LOCAL_PROVIDER: Served(local_url)}
    settings = config.providers.get(name)
    host = host_for(name, os.environ)
    if host is None and settings is None:
        known = ", ".join(sorted(known_provider_names(config)))
        raise InputError("--models", f"unknown provider {name!r} (known: {known})")
    spec = api_spec(host.api if host is not None else DEFAULT_API)
    base_url = host.base_url if host is not None else None
    run_served = served.get(name) if capabilities_of(name).local else None
    if run_served is not None:
        base_url = run_served.url + spec.base_path if run_served.url else None
    if settings is None:
        limits = run_served.limits if run_served is not None and run_served.limits else default_limits(name)
        settings = ProviderSettings(limits=limits)
    base_url = settings.base_url or base_url
    if base_url is None and spec.needs_base_url:
        raise InputError(f"providers.{name}.base_url", "no endpoint configured for this provider")
    if base_url is not None and spec.normalize_url is not None:
        base_url = spec.normalize_url(base_url)
    key_env = settings.api_key_env or (host.api_key_env if host is not None
                                       else f"{name.upper().replace('-', '_')}_API_KEY")
    key_value = os.environ.get(key_env) if key_env else None
    if key_value is None and host is not None:
        key_value = host.default_key
    return ResolvedProvider(name=name, api=spec.kind, base_url=base_url, api_key_env=key_env,
                            settings=settings, model_apis=dict(model_apis or {}), key_value=key_value)
