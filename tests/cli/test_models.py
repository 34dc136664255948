"""`fleetbench models list|check`: the catalogue as a table or JSON, and access checks that
talk real HTTP (OpenAI, Anthropic and Ollama model lists) to the simulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agents.model_check import Target, _failure, is_listed
from cli.app import app
from simulator.config import BrainConfig, SimConfig
from simulator.server import SimThread

runner = CliRunner()
FAKE_KEY = "sk-test-fake-123456"
KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "OLLAMA_HOST",
            "SCW_SECRET_KEY", "SCALEWAY_BASE_URL", "OPENROUTER_API_KEY", "OPENROUTER_BASE_URL", "LLM_PROVIDER")


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    """One simulator knowing gpt-5, claude-haiku-4-5 and smollm2:135m, and nothing else."""
    brain = BrainConfig(ttft_ms=1, itl_ms=1, output_tokens=1)
    thread = SimThread(SimConfig(models={"gpt-5": brain, "claude-haiku-4-5": brain, "smollm2:135m": brain}))
    url = thread.start()
    yield url
    thread.stop()


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No keys or endpoints from the developer's shell, and no `.env` from the cwd."""
    for name in KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def _invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["models", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def _check_json(*args: str) -> dict[str, dict[str, Any]]:
    code, output = _invoke("check", "--json", "--timeout", "5", *args)
    assert code == 0, output
    return {f"{r['provider']}/{r['model']}": r for r in json.loads(output)}


def test_list_shows_the_catalogue() -> None:
    code, output = _invoke("list")
    assert code == 0
    assert "gpt-5-codex" in output and "claude-haiku-4-5" in output and "responses" in output


def test_list_json_and_provider_filter() -> None:
    code, output = _invoke("list", "--json", "--provider", "anthropic")
    assert code == 0
    entries = json.loads(output)
    assert {e["provider"] for e in entries} == {"anthropic"}
    haiku = next(e for e in entries if e["id"] == "claude-haiku-4-5")
    assert haiku["price_in_per_mtok"] > 0 and haiku["context_window"] == 200000


def test_unknown_provider_is_bad_input() -> None:
    for args in (("list", "--provider", "nope"), ("check", "--provider", "nope"),
                 ("check", "--models", "nope/x"), ("check", "--models", "no-such-model")):
        code, output = _invoke(*args)
        assert code == 2, args
        assert "error:" in output


def test_check_without_keys_says_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")  # nothing listens: fast refusal
    code, output = _invoke("check", "--timeout", "5")
    assert code == 0  # a report, whatever it finds
    assert "no key ($OPENAI_API_KEY not set)" in output
    assert "no key ($ANTHROPIC_API_KEY not set)" in output
    assert "sim/" not in output and "local/" not in output  # their servers only exist in a run
    results = _check_json("--models", "openai/gpt-5,anthropic/claude-haiku-4-5,ollama/smollm2:135m")
    assert results["openai/gpt-5"]["status"] == "no_key"
    assert results["anthropic/claude-haiku-4-5"]["status"] == "no_key"
    assert results["ollama/smollm2:135m"]["key"] == "no key needed"
    assert results["ollama/smollm2:135m"]["outcome"].startswith("unreachable: ")


def test_check_openai_lists_models_and_never_prints_the_key(monkeypatch: pytest.MonkeyPatch, sim: str) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{sim}/v1")
    code, output = _invoke("check", "--provider", "openai")
    assert code == 0 and FAKE_KEY not in output
    results = _check_json("--provider", "openai")
    assert results["openai/gpt-5"]["outcome"] == "ok"
    assert results["openai/gpt-5-codex"]["outcome"] == "not listed"
    assert FAKE_KEY not in json.dumps(results)


def test_check_anthropic_and_ollama_lists(monkeypatch: pytest.MonkeyPatch, sim: str) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", sim)
    monkeypatch.setenv("OLLAMA_HOST", sim)
    results = _check_json("--models", "anthropic/claude-haiku,anthropic/claude-opus-4-1,"
                                      "ollama/smollm2:135m,ollama/gemma3:270m")
    assert results["anthropic/claude-haiku-4-5"]["outcome"] == "ok"  # the alias resolved to the ID
    assert results["anthropic/claude-opus-4-1"]["outcome"] == "not listed"
    assert results["ollama/smollm2:135m"]["outcome"] == "ok"
    assert results["ollama/smollm2:135m"]["method"] == "ollama list"
    assert results["ollama/gemma3:270m"]["outcome"] == "not listed"


def test_unreachable_provider_names_the_error_class(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    results = _check_json("--models", "openai/gpt-5")
    assert results["openai/gpt-5"]["outcome"] == "unreachable: APIConnectionError"


def test_listed_names_match_snapshots_and_tags() -> None:
    haiku = Target("anthropic", "claude-haiku-4-5", ("claude-haiku",))
    assert is_listed(haiku, ["claude-haiku-4-5-20251001"])
    assert not is_listed(haiku, ["claude-haiku-4-5-extended"])
    assert is_listed(Target("local", "smollm2-135m"), ["smollm2-135m:latest"])
    assert not is_listed(Target("openai", "gpt-5"), ["gpt-5-mini"])


def test_error_text_is_redacted() -> None:
    result = _failure(Target("openai", "gpt-5"), "set", "models.list", "AuthenticationError",
                      f"Incorrect API key provided: {FAKE_KEY}")
    assert FAKE_KEY not in result.detail and "***" in result.detail
