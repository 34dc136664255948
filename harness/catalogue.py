"""The model catalogue as data (`suites/catalogue.yaml`): exact IDs, aliases, API, prices,
context window, capabilities, default limits and quota fallback per model.

Why data and not code: prices and model IDs change monthly; a YAML file the user can edit
(and that a run's manifest can hash) beats a release. Why `extra="forbid"` and file:line
errors: a misspelt `price_out_per_mtok` would silently make a paid model look free.
Unknown model IDs of known providers are allowed (new models ship before catalogues do);
they are logged once and cost `None`, never a made-up number.
"""

from __future__ import annotations

from pathlib import Path

import structlog
from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.errors import InputError
from harness.limit_contract import ProviderLimits
from harness.providers.registry import ApiKind, api_kinds
from harness.yaml_input import locate_line, read_yaml, validate_document

PER_MTOK = 1_000_000
_warned: set[tuple[str, str]] = set()
_log = structlog.get_logger("fleetbench.catalogue")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelCapabilities(_Strict):
    streaming: bool = True
    tools: bool = False
    reasoning: bool = False


class DefaultLimits(_Strict):
    """Published per-minute limits of a typical account tier; a run's config overrides them."""

    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    concurrency: int | None = Field(default=None, ge=1)

    def to_provider_limits(self) -> ProviderLimits:
        return ProviderLimits(max_concurrent=self.concurrency, requests_per_window=self.rpm,
                              tokens_per_window=self.tpm, window_s=60.0)


class CatalogueEntry(_Strict):
    provider: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    id: str = Field(min_length=1, pattern=r"^[^@\s]+$", description="the provider's exact model ID")
    aliases: list[str] = Field(default_factory=list)
    api: ApiKind
    price_in_per_mtok: float = Field(ge=0, description="USD per million input tokens")
    price_out_per_mtok: float = Field(ge=0, description="USD per million output (and reasoning) tokens")
    context_window: int | None = Field(default=None, ge=1)
    capabilities: ModelCapabilities = Field(default_factory=ModelCapabilities)
    default_limits: DefaultLimits | None = None
    fallback: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_-]*/[^@\s]+$",
                                 description="`provider/id` tried when this model's quota is exhausted")
    notes: str = ""

    @field_validator("api")
    @classmethod
    def _registered_api(cls, value: str) -> str:
        kinds = api_kinds()
        if value not in kinds:
            raise ValueError(f"unknown API {value!r} (one of: {', '.join(sorted(kinds))})")
        return value

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.id}"


class Catalogue(_Strict):
    models: list[CatalogueEntry]

    def problems(self) -> list[tuple[int, str, str]]:
        """(entry index, field, message) for duplicate names and dangling or self fallbacks.

        Not a pydantic validator on purpose: its errors carry no location, and a user must
        be told which entry (file:line) is wrong; `load_catalogue` turns these into that.
        """
        found: list[tuple[int, str, str]] = []
        seen: dict[tuple[str, str], str] = {}
        for index, entry in enumerate(self.models):
            for field, name in [("id", entry.id), *(("aliases", a) for a in entry.aliases)]:
                key = (entry.provider, name)
                if key in seen:
                    found.append((index, field, f"{entry.provider}/{name} is already defined by {seen[key]}"))
                else:
                    seen[key] = entry.name
        for index, entry in enumerate(self.models):
            if entry.fallback is None:
                continue
            provider, _, model = entry.fallback.partition("/")
            target = seen.get((provider, model))
            if target is None:
                found.append((index, "fallback", f"{entry.fallback!r} is not in the catalogue"))
            elif target == entry.name:
                found.append((index, "fallback", "a model cannot fall back to itself"))
        return found

    @property
    def providers(self) -> frozenset[str]:
        return frozenset(e.provider for e in self.models)

    def resolve(self, provider: str, model_or_alias: str) -> CatalogueEntry | None:
        """The entry for an exact ID or alias. A known provider's unknown model is allowed
        (logged, cost unknown); an unknown provider is simply not catalogued."""
        for entry in self.models:
            if entry.provider == provider and (entry.id == model_or_alias or model_or_alias in entry.aliases):
                return entry
        if provider in self.providers and (provider, model_or_alias) not in _warned:
            _warned.add((provider, model_or_alias))  # once per process, not once per call
            _log.warning("model not in catalogue; cost will be unknown", provider=provider,
                         model=model_or_alias)
        return None

    def fallback_for(self, entry: CatalogueEntry) -> CatalogueEntry | None:
        if entry.fallback is None:
            return None
        provider, _, model = entry.fallback.partition("/")
        return self.resolve(provider, model)

    def fallback_chain(self, entry: CatalogueEntry, limit: int = 5) -> list[CatalogueEntry]:
        """Successive fallbacks (a -> b -> c), cycle-safe, at most `limit` long."""
        chain: list[CatalogueEntry] = []
        seen = {entry.name}
        current: CatalogueEntry | None = entry
        while current is not None and len(chain) < limit:
            current = self.fallback_for(current)
            if current is None or current.name in seen:
                break
            seen.add(current.name)
            chain.append(current)
        return chain

    def model_apis(self, provider: str) -> dict[str, ApiKind]:
        """The API each of a provider's models speaks, by ID and alias (OpenAI's Codex
        models speak the Responses API, the provider's others Chat Completions)."""
        return {name: e.api for e in self.models if e.provider == provider for name in (e.id, *e.aliases)}


def cost_usd(entry: CatalogueEntry | None, input_tokens: int | None, output_tokens: int | None,
             reasoning_tokens: int | None = None) -> float | None:
    """USD for one call. `output_tokens` is the *visible* output; reasoning tokens are billed
    at the output price on top. None when the model or the input/output usage is unknown."""
    if entry is None or input_tokens is None or output_tokens is None:
        return None
    billed_out = output_tokens + (reasoning_tokens or 0)
    return (input_tokens * entry.price_in_per_mtok + billed_out * entry.price_out_per_mtok) / PER_MTOK


def load_catalogue(path: Path) -> Catalogue:
    """Read and validate the catalogue (the shipped one is `suites/catalogue.yaml`, i.e.
    `SUITES_DIR / "catalogue.yaml"`; harness does not import `suites`). Any problem is an
    `InputError` naming file:line."""
    doc = read_yaml(path)
    catalogue = validate_document(doc, Catalogue)
    problems = catalogue.problems()
    if problems:
        index, field, message = problems[0]
        line = locate_line(doc.root, ("models", index, field))
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InputError(f"{path}:{line}", f"models.{index}.{field}: {message}{more}")
    return catalogue
