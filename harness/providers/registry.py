"""The provider registry: which API kinds and hosts exist, each declared by its own module.

Why self-registering: the rest of fleetbench must never name a provider or an API. Each
module under `harness/providers/` declares what it brings (`register_api`: the API kind, a
constructor, a model lister, a preflight, its capabilities; `register_host`: a named
endpoint speaking one kind, with its URL, key variable and default limits), and callers ask
here: `api_spec(kind).build(...)`, `capabilities_of(provider)`. A new API kind is then its
module, its simulator wire and its tests; `_discover` imports every module of the package,
so nothing lists them.

Why importing every module is cheap enough: the adapter modules import their heaviest SDKs
(anthropic, claude_agent_sdk: ~0.4-1 s each on this machine) inside the functions that use
them, so discovery costs what the openai and ollama SDKs already cost the driver.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from harness.limit_contract import ProviderLimits
from harness.seam import Capabilities, ProviderAPI

if TYPE_CHECKING:
    from harness.providers.ollama_preflight import PreflightReport, PreflightThresholds

# The name a module registers its API under ("chat", "responses", ...). Open on purpose: the
# set of kinds is whatever the modules register, checked at run time (`api_kinds`).
ApiKind = str
Transport = Literal["aiohttp", "httpx"]
# Who reads a stream over aiohttp: our SSE reader (the default, ~10x less CPU a call) or the
# SDK's own (the reference; over httpx it is always the SDK's).
StreamReader = Literal["sse", "sdk"]
# A configured endpoint with no host entry speaks Chat Completions, the API every
# OpenAI-compatible server (vLLM, llama.cpp, LiteLLM...) has in common.
DEFAULT_API: ApiKind = "chat"


@dataclass(frozen=True, slots=True)
class AdapterSettings:
    """What a constructor needs besides name, endpoint and key."""

    api_key_env: str | None = None  # named in auth errors (never the key itself)
    transport: Transport = "aiohttp"
    stream_reader: StreamReader = "sse"


# (provider name, base URL or None for the SDK's default, key or None, settings) -> adapter
Builder = Callable[[str, str | None, str | None, AdapterSettings], ProviderAPI]
# (base URL, key, timeout in s) -> the model IDs the provider lists
Lister = Callable[[str | None, str | None, float], Awaitable[list[str]]]
Preflight = Callable[[str | None, Path, "PreflightThresholds"], Coroutine[Any, Any, "PreflightReport"]]


@dataclass(frozen=True, slots=True)
class ApiSpec:
    """One API kind, as its adapter module declares it."""

    kind: ApiKind
    build: Builder
    capabilities: Capabilities
    list_models: Lister | None = None  # None: a model is checked with a one-token call
    lister_name: str = "models.list"  # how a model check names the listing it made
    preflight: Preflight | None = None  # a server check before a run (resources, idle)
    needs_base_url: bool = True  # False: the SDK has a default endpoint of its own
    base_path: str = ""  # where the API lives under a server's root ("/v1" for OpenAI's)
    normalize_url: Callable[[str], str] | None = None  # the endpoint as the client will use it


@dataclass(frozen=True, slots=True)
class Host:
    """A named provider: one endpoint speaking one API kind.

    `local` hosts (the simulator, the embedded models) are served by the run itself, which
    supplies their URL; the others come from `base_url_env` or `base_url`.
    """

    name: str
    api: ApiKind
    base_url: str | None = None
    base_url_env: str | None = None  # overrides `base_url` when set
    api_key_env: str | None = None  # None: the host takes no key
    default_key: str | None = None  # a key of our own (the simulator's), used when none is set
    switchable: bool = False  # may be chosen by `$LLM_PROVIDER` for `llm/...` models
    capabilities: Capabilities | None = None  # None: the API kind's
    default_limits: ProviderLimits | None = None  # None: unlimited, or one in flight if serial


_APIS: dict[ApiKind, ApiSpec] = {}
_HOSTS: dict[str, Host] = {}
_discovered = False


def register_api(spec: ApiSpec) -> ApiSpec:
    if spec.kind in _APIS and _APIS[spec.kind] != spec:
        raise ValueError(f"API kind {spec.kind!r} is registered twice")
    _APIS[spec.kind] = spec
    return spec


def register_host(host: Host) -> Host:
    if host.name in _HOSTS and _HOSTS[host.name] != host:
        raise ValueError(f"provider {host.name!r} is registered twice")
    _HOSTS[host.name] = host
    return host


def _discover() -> None:
    """Import every module of this package once, so each has registered what it declares."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    package = importlib.import_module(__package__ or "harness.providers")
    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")


def api_kinds() -> frozenset[ApiKind]:
    _discover()
    return frozenset(_APIS)


def api_spec(kind: ApiKind) -> ApiSpec:
    """The spec of a registered API kind; KeyError names the known ones."""
    _discover()
    try:
        return _APIS[kind]
    except KeyError:
        raise KeyError(f"unknown API kind {kind!r} (known: {', '.join(sorted(_APIS))})") from None


def hosts() -> Mapping[str, Host]:
    _discover()
    return dict(_HOSTS)


def host(name: str) -> Host | None:
    _discover()
    return _HOSTS.get(name)


def capabilities_of(provider: str) -> Capabilities:
    """What a provider can do, by name: its host's declaration, else its API kind's; an
    unregistered name (a configured endpoint, `llm/...`) is an OpenAI-compatible host."""
    found = host(provider)
    if found is not None and found.capabilities is not None:
        return found.capabilities
    return api_spec(found.api if found is not None else DEFAULT_API).capabilities


def default_limits(provider: str) -> ProviderLimits:
    """A host's own limits; one call in flight for a serial one (more in flight would only
    turn its queue into TTFT); else none (the config or the catalogue sets them)."""
    found = host(provider)
    if found is not None and found.default_limits is not None:
        return found.default_limits
    if capabilities_of(provider).serial:
        return ProviderLimits(max_concurrent=1)
    return ProviderLimits()
