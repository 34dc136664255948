"""The shipped catalogue loads; lookups, aliases, costs and bad input behave."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from harness.catalogue import Catalogue, CatalogueEntry, cost_usd, load_catalogue
from harness.errors import InputError
from suites import SUITES_DIR

SHIPPED = SUITES_DIR / "catalogue.yaml"


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load_catalogue(SHIPPED)


def test_shipped_catalogue_covers_the_brief(cat: Catalogue) -> None:
    names = {e.name for e in cat.models}
    for name in ["openai/gpt-5-codex", "openai/gpt-5", "openai/gpt-5-mini", "openai/gpt-4.1-mini",
                 "anthropic/claude-haiku-4-5", "anthropic/claude-sonnet-4-5", "anthropic/claude-opus-4-1",
                 "claude-sdk/claude-haiku-4-5", "claude-sdk/claude-opus-4-1",
                 "scaleway/llama-3.3-70b-instruct", "openrouter/meta-llama/llama-3.3-70b-instruct",
                 "local/smollm2-135m", "local/gemma3-270m", "sim/smollm2-135m-sim", "sim/gemma3-270m-sim"]:
        assert name in names, name
    assert cat.problems() == []


def test_aliases_and_apis(cat: Catalogue) -> None:
    haiku = cat.resolve("anthropic", "claude-haiku")
    assert haiku is not None and haiku.id == "claude-haiku-4-5" and haiku.api == "messages"
    opus = cat.resolve("claude-sdk", "opus")
    assert opus is not None and opus.id.startswith("claude-opus") and opus.api == "agent-sdk"
    codex = cat.resolve("openai", "gpt-5-codex")
    assert codex is not None and codex.api == "responses" and codex.capabilities.reasoning
    apis = cat.model_apis("openai")
    assert apis["gpt-5-codex"] == "responses" and apis["gpt-5"] != "responses"
    limits = codex.default_limits
    assert limits is not None and limits.to_provider_limits().requests_per_window == limits.rpm


def test_unknown_model_of_known_provider_warns(cat: Catalogue) -> None:
    with capture_logs() as logs:
        assert cat.resolve("openai", "gpt-9-turbo") is None
        assert cat.resolve("my-host", "whatever") is None  # not a catalogued provider: silent
    assert [entry["model"] for entry in logs] == ["gpt-9-turbo"]
    assert cost_usd(None, 100, 100) is None


def test_cost_bills_reasoning_as_output(cat: Catalogue) -> None:
    entry = CatalogueEntry(provider="x", id="m", api="chat", price_in_per_mtok=2.0, price_out_per_mtok=10.0)
    assert cost_usd(entry, 1_000_000, 0) == pytest.approx(2.0)
    assert cost_usd(entry, 1000, 100, 400) == pytest.approx((1000 * 2 + 500 * 10) / 1e6)
    assert cost_usd(entry, None, 10) is None
    free = cat.resolve("sim", "smollm2-135m-sim")
    assert cost_usd(free, 1000, 1000, 0) == 0.0


def test_fallback_chain(cat: Catalogue) -> None:
    primary = cat.resolve("sim", "smollm2-135m-sim")
    assert primary is not None
    assert [e.name for e in cat.fallback_chain(primary)] == ["sim/gemma3-270m-sim"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cat.yaml"
    path.write_text(text)
    return path


ENTRY = "  - {provider: openai, id: a, api: chat, price_in_per_mtok: 1, price_out_per_mtok: 2}\n"


def test_unknown_key_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "models:\n" + ENTRY + "  - provider: openai\n    id: b\n    api: chat\n"
                 "    price_in_per_mtok: 1\n    price_out_per_mtok: 2\n    price_out_per_mtk: 3\n")
    with pytest.raises(InputError) as info:
        load_catalogue(path)
    assert str(info.value).startswith(f"{path}:8:") and "price_out_per_mtk" in str(info.value)


def test_dangling_fallback_and_duplicates_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "models:\n" + ENTRY + "  - provider: openai\n    id: b\n    api: chat\n"
                 "    price_in_per_mtok: 1\n    price_out_per_mtok: 2\n    fallback: openai/zzz\n")
    with pytest.raises(InputError, match=r":8: models\.1\.fallback: 'openai/zzz' is not in the catalogue"):
        load_catalogue(path)
    dup = write(tmp_path, "models:\n" + ENTRY + ENTRY.replace("id: a", "id: c, aliases: [a]"))
    with pytest.raises(InputError, match=r":3: models\.1\.aliases: openai/a is already defined"):
        load_catalogue(dup)
    bad_api = write(tmp_path, "models:\n" + ENTRY.replace("api: chat", "api: grpc"))
    with pytest.raises(InputError, match=r":2: models\.0\.api"):
        load_catalogue(bad_api)


def test_every_packaged_simulator_model_is_catalogued(cat: Catalogue) -> None:
    """Otherwise a sim run warns "cost will be unknown" and the long-context phase has no window."""
    from simulator.config import load_sim_config

    simulated = load_sim_config(SUITES_DIR / "simulator.yaml").models
    assert simulated and all(cat.resolve("sim", name) is not None for name in simulated), sorted(simulated)
