"""Can we actually call the catalogued models? Key present, and does the provider know the ID?

Why a separate check and not "just run": a benchmark that discovers a missing key or a
retired model ID an hour in has wasted the hour. Listing the provider's models is free
(no tokens), so the check asks the provider's own model list wherever there is one, and
only makes a one-token call where there is none (the Claude agent SDK). It is a report:
every model gets exactly one plain-data result, and no failure is raised to the caller.
Every error text goes through the redactor, since SDK messages can echo the key.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Literal

from agents.config import FleetConfig
from agents.providers import SIM_PROVIDER, ResolvedProvider, known_provider_names, resolve_provider
from harness.catalogue import Catalogue
from harness.errors import InputError, ProviderCallError
from harness.model_ref import ModelRef
from harness.providers.registry import api_spec, capabilities_of
from harness.redact import default_redactor, register_secrets
from harness.seam import CallRequest, Message
from harness.timing import CallClock

Status = Literal["ok", "no_key", "not_listed", "unreachable"]
MAX_DETAIL = 300
# a listed ID matches a catalogue name exactly, or as a dated snapshot (Anthropic lists
# `claude-haiku-4-5-20251001` for the alias `claude-haiku-4-5`) or Ollama's implicit tag
_SUFFIX = r"(?:-\d{8})?(?::latest)?"


@dataclass(frozen=True)
class Target:
    """One model to check: its provider, exact ID, and the other names it may be listed under."""

    provider: str
    model: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelCheck:
    """The result for one model. `key` says whether a key is needed and set (never its value)."""

    provider: str
    model: str
    key: str
    status: Status
    method: str = ""
    error_class: str = ""
    detail: str = ""

    @property
    def outcome(self) -> str:
        if self.status == "no_key":
            return f"no key ({self.detail})"
        if self.status == "not_listed":
            return "not listed"
        if self.status == "unreachable":
            return f"unreachable: {self.error_class}"
        return "ok"

    def to_dict(self) -> dict[str, str]:
        return {**asdict(self), "outcome": self.outcome}


def select_targets(catalogue: Catalogue, config: FleetConfig, provider: str | None,
                   models: Sequence[str]) -> list[Target]:
    """The models to check. Raises InputError (exit 2) for an unknown provider or a model
    that names none. `sim`/`local` models are left out unless asked for by provider:
    their servers only exist while a run is going."""
    known = known_provider_names(config)
    if provider is not None and provider not in known:
        raise InputError("--provider", f"unknown provider {provider!r} (known: {', '.join(sorted(known))})")
    targets = [_target(catalogue, known, text) for text in models]
    if not targets:
        targets = [Target(e.provider, e.id, tuple(e.aliases)) for e in catalogue.models
                   if (provider is None and not capabilities_of(e.provider).local) or e.provider == provider]
    elif provider is not None:
        targets = [t for t in targets if t.provider == provider]
    return list(dict.fromkeys(targets))


def _target(catalogue: Catalogue, known: set[str], text: str) -> Target:
    """`provider/model` (a catalogue alias or an uncatalogued ID of a known provider), or a
    bare catalogue ID/alias when exactly one provider has it."""
    if "/" not in text:
        hits = [e for e in catalogue.models if text.strip() in (e.id, *e.aliases)]
        if len(hits) != 1:
            why = "is not in the catalogue" if not hits else "is ambiguous (give provider/model)"
            raise InputError("--models", f"model {text!r} {why}")
        return Target(hits[0].provider, hits[0].id, tuple(hits[0].aliases))
    ref = ModelRef.parse(text)
    if ref.provider not in known:
        raise InputError("--models", f"unknown provider {ref.provider!r} in {text!r}")
    entry = next((e for e in catalogue.models if e.provider == ref.provider
                  and ref.model in (e.id, *e.aliases)), None)
    if entry is None:
        return Target(ref.provider, ref.model)
    return Target(entry.provider, entry.id, tuple(entry.aliases))


def is_listed(target: Target, listed: Sequence[str]) -> bool:
    names = {target.model, *target.aliases}
    return any(re.fullmatch(re.escape(name) + _SUFFIX, item) for name in names for item in listed)


def _key_text(provider: ResolvedProvider) -> str:
    if provider.api_key_env is None:
        return "no key needed"
    return f"${provider.api_key_env} set" if provider.has_access() else f"${provider.api_key_env} not set"


def _failure(target: Target, key: str, method: str, error_class: str, text: str) -> ModelCheck:
    detail = default_redactor().redact(text)[:MAX_DETAIL]
    return ModelCheck(target.provider, target.model, key, "unreachable", method, error_class, detail)


# -- listing, one provider at a time (each with its official client, no retries) ---------

async def _check_listed(provider: ResolvedProvider, targets: Sequence[Target], timeout: float
                        ) -> list[ModelCheck]:
    key = _key_text(provider)
    spec = api_spec(provider.api)
    method, lister = spec.lister_name, spec.list_models
    assert lister is not None
    try:
        listed = await asyncio.wait_for(lister(provider.base_url, provider.api_key(), timeout), timeout)
    except TimeoutError:
        return [_failure(t, key, method, "timeout", f"no answer within {timeout:g} s") for t in targets]
    except Exception as exc:  # noqa: BLE001 - a report: any failure becomes that provider's outcome
        return [_failure(t, key, method, type(exc).__name__, str(exc)) for t in targets]
    return [ModelCheck(t.provider, t.model, key, "ok" if is_listed(t, listed) else "not_listed", method)
            for t in targets]


async def _check_by_call(provider: ResolvedProvider, targets: Sequence[Target], timeout: float
                         ) -> list[ModelCheck]:
    """One-token calls, one model at a time (an agent-SDK call starts a whole CLI process)."""
    key, method = _key_text(provider), "one-token call"
    adapter = provider.build()
    results: list[ModelCheck] = []
    try:
        for target in targets:
            request = CallRequest(model=target.model, messages=[Message(role="user", content="ping")],
                                  max_tokens=1, stream=False, timeout_s=timeout)
            clock = CallClock()
            clock.start()
            try:
                await asyncio.wait_for(adapter.call(request, clock), timeout)
            except TimeoutError:
                results.append(_failure(target, key, method, "timeout", f"no answer within {timeout:g} s"))
            except Exception as exc:  # noqa: BLE001 - a report; the adapter's classify names it
                kind = exc.error_class if isinstance(exc, ProviderCallError) else adapter.classify(exc).error_class
                results.append(_failure(target, key, method, str(kind), str(exc)))
            else:
                results.append(ModelCheck(target.provider, target.model, key, "ok", method))
    finally:
        await adapter.aclose()
    return results


async def _check_provider(name: str, targets: Sequence[Target], config: FleetConfig, timeout: float,
                          catalogue: Catalogue, sim_url: str | None, local_url: str | None
                          ) -> list[ModelCheck]:
    try:
        provider = resolve_provider(name, config, sim_url=sim_url, local_url=local_url,
                                    model_apis=catalogue.model_apis(name))
    except InputError as exc:  # e.g. a self-hosted preset without its base URL variable
        return [_failure(t, "?", "", "no endpoint", str(exc)) for t in targets]
    if provider.key_value:
        register_secrets(provider.key_value)
    if not provider.has_access():
        return [ModelCheck(t.provider, t.model, _key_text(provider), "no_key", "",
                           "", f"${provider.api_key_env} not set") for t in targets]
    if api_spec(provider.api).list_models is not None:
        return await _check_listed(provider, targets, timeout)
    return await _check_by_call(provider, targets, timeout)


async def check_models(targets: Sequence[Target], config: FleetConfig, catalogue: Catalogue, *,
                       timeout: float = 10.0, sim_url: str | None = None, local_url: str | None = None
                       ) -> list[ModelCheck]:
    """Check every target, providers concurrently; results in the targets' order."""
    by_provider: dict[str, list[Target]] = {}
    for target in targets:
        by_provider.setdefault(target.provider, []).append(target)
    groups = await asyncio.gather(*(
        _check_provider(name, group, config, timeout, catalogue, sim_url, local_url)
        for name, group in by_provider.items()))
    found = {(r.provider, r.model): r for group in groups for r in group}
    return [found[(t.provider, t.model)] for t in targets]


@contextmanager
def sim_for_check(targets: Sequence[Target], config: FleetConfig, sim_url: str | None) -> Iterator[str | None]:
    """The simulator URL to check `sim` models against: the given one, the configured one,
    or (as a run would) a simulator started for the duration of the check."""
    settings = config.providers.get(SIM_PROVIDER)
    if sim_url or not any(t.provider == SIM_PROVIDER for t in targets) or (settings and settings.base_url):
        yield sim_url
        return
    from agents.sim_host import DEFAULT_SIM_CONFIG, SimHost

    host = SimHost(config.simulator or DEFAULT_SIM_CONFIG)
    try:
        yield host.url
    finally:
        host.stop()
