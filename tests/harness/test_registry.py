"""The provider registry: every host and API kind declared by its own module, looked up by
the rest, one connection key, and a new API kind that needs nothing outside its module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.config import FleetConfig
from agents.phases.base import PlanContext
from agents.phases.tool_use import ToolUsePhase
from agents.providers import known_provider_names, resolve_provider
from harness.catalogue import CatalogueEntry
from harness.filler import cl100k_counter, counter_for, counter_name
from harness.model_ref import ModelRef
from harness.providers import registry
from harness.providers.openai_compat import OpenAICompatProvider
from harness.providers.registry import (
    AdapterSettings,
    ApiSpec,
    Host,
    api_kinds,
    api_spec,
    capabilities_of,
    default_limits,
    hosts,
)
from harness.seam import Capabilities, ProviderAPI

ROOT = Path(__file__).resolve().parents[2]
# where a provider or API name must never be compared against (the simulator is the far
# side of the wire and names its own APIs)
PROVIDER_BLIND = ("harness", "agents", "cluster", "archive", "calibration", "dashboard", "benchmarks",
                  "localmodels")
URL_ENV = {"VLLM_BASE_URL": "http://127.0.0.1:9/v1", "LLAMACPP_BASE_URL": "http://127.0.0.1:9/v1"}


def test_every_host_speaks_a_registered_api_and_every_api_builds() -> None:
    assert {"chat", "responses", "messages", "agent-sdk", "ollama"} <= api_kinds()
    assert {h.api for h in hosts().values()} <= api_kinds()
    assert {"openai", "anthropic", "claude-sdk", "ollama", "sim", "local", "scaleway"} <= set(hosts())


async def test_adapters_report_their_registered_capabilities() -> None:
    for kind in sorted(api_kinds()):
        spec = api_spec(kind)
        adapter = spec.build("x", "http://127.0.0.1:9" + spec.base_path, "k", AdapterSettings(api_key_env="K"))
        try:
            assert adapter.capabilities("m") == spec.capabilities
        finally:
            await adapter.aclose()
    with pytest.raises(KeyError, match="known: "):
        api_spec("grpc")


@pytest.mark.parametrize("keyed", [True, False], ids=["key", "no-key"])
async def test_one_connection_key_for_limiter_and_adapter(monkeypatch: pytest.MonkeyPatch, keyed: bool) -> None:
    for name, value in URL_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")  # normalised the same way on both sides
    for name in sorted(hosts()):
        key_env = hosts()[name].api_key_env
        if key_env is not None:
            if keyed:
                monkeypatch.setenv(key_env, f"sk-{name}-0123456789")
            else:
                monkeypatch.delenv(key_env, raising=False)
        provider = resolve_provider(name, FleetConfig(), sim_url="http://127.0.0.1:9",
                                    local_url="http://127.0.0.1:9")
        adapter = provider.build()
        try:
            assert adapter.connection_key() == provider.connection_key(), name
            assert "0123456789" not in provider.connection_key()
        finally:
            await adapter.aclose()


def test_capabilities_replace_provider_names() -> None:
    for name in ("ollama", "local"):  # their models refuse native tools
        assert not capabilities_of(name).native_tools and capabilities_of(name).tools
    for name in ("openai", "anthropic", "claude-sdk", "sim", "llm", "some-configured-host"):
        assert capabilities_of(name).native_tools
    local = capabilities_of("local")
    assert local.own_tokenizer and local.serial and local.local and capabilities_of("sim").local
    assert not capabilities_of("ollama").local and not capabilities_of("openai").own_tokenizer
    assert default_limits("local").max_concurrent == 1 and default_limits("ollama").max_concurrent is None
    assert api_spec("ollama").preflight is not None and api_spec("chat").preflight is None
    assert api_spec("agent-sdk").list_models is None  # checked by a one-token call
    assert counter_for("sim", "x") is cl100k_counter() and counter_name("sim", "x") == "cl100k"
    assert counter_name("local", "smollm2-135m") == "local/smollm2-135m"


def _compared_names(path: Path, names: set[str]) -> list[str]:
    hits = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Compare):
            continue
        consts: list[object] = []
        for side in (node.left, *node.comparators):
            if isinstance(side, ast.Constant):
                consts.append(side.value)
            elif isinstance(side, (ast.Set, ast.Tuple, ast.List)):
                consts += [e.value for e in side.elts if isinstance(e, ast.Constant)]
        hits += [f"{path.relative_to(ROOT)}:{node.lineno}: {c!r}" for c in consts if c in names]
    return hits


def test_no_provider_or_api_name_is_branched_on_outside_the_providers() -> None:
    names = set(hosts()) | set(api_kinds())
    providers_dir = ROOT / "harness" / "providers"
    hits = [hit for package in PROVIDER_BLIND for path in sorted((ROOT / package).rglob("*.py"))
            if providers_dir not in path.parents for hit in _compared_names(path, names)]
    assert hits == []


class _EchoProvider(OpenAICompatProvider):
    """Stands in for a new API kind's adapter (the constructor is all the test needs)."""


@pytest.fixture
def echo_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new API kind and its host, registered the way a new module would, then removed."""
    monkeypatch.setattr(registry, "_APIS", dict(registry._APIS))
    monkeypatch.setattr(registry, "_HOSTS", dict(registry._HOSTS))

    def build(name: str, base_url: str | None, key: str | None, settings: AdapterSettings) -> ProviderAPI:
        assert base_url is not None
        return _EchoProvider(name, base_url, key, settings.api_key_env or "")

    caps = Capabilities(tools=True, native_tools=False)
    registry.register_api(ApiSpec(kind="echo", build=build, capabilities=caps, base_path="/v9"))
    registry.register_host(Host("echo-host", "echo", "http://127.0.0.1:9/v9", None, "ECHO_KEY"))
    yield "echo-host"


async def test_a_new_api_kind_needs_nothing_outside_its_module(echo_api: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECHO_KEY", "sk-echo-0123456789")
    config = FleetConfig()
    assert echo_api in known_provider_names(config)
    provider = resolve_provider(echo_api, config)
    assert (provider.api, provider.base_url, provider.api_key_env) == ("echo", "http://127.0.0.1:9/v9", "ECHO_KEY")
    adapter = provider.build()
    try:
        assert isinstance(adapter, _EchoProvider) and adapter.connection_key() == provider.connection_key()
    finally:
        await adapter.aclose()
    ctx = PlanContext(suites=[], models=[], config=config)
    assert ToolUsePhase().mode_for(ModelRef.parse(f"{echo_api}/m"), ctx) == "prompt"
    entry = CatalogueEntry(provider=echo_api, id="m", api="echo", price_in_per_mtok=0, price_out_per_mtok=0)
    assert entry.api == "echo"
    with pytest.raises(ValueError, match="unknown API 'grpc'"):
        CatalogueEntry(provider=echo_api, id="m", api="grpc", price_in_per_mtok=0, price_out_per_mtok=0)
