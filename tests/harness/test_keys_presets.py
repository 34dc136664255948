"""`.env` loading (environment wins, keys reach the redactor) and host presets."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import InputError
from harness.keys import load_env_files
from harness.providers.presets import host_for, switchable
from harness.redact import default_redactor

SCW = "scw-secret-0f1e2d3c4b5a-from-dotenv"


def test_env_files_never_override_the_environment(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"SCW_SECRET_KEY={SCW}\nOPENAI_API_KEY=sk-file-key-123456789\n"
                                   "LLM_PROVIDER=scaleway\n")
    (tmp_path / ".env.benchmark-models").write_text("OPENROUTER_API_KEY=or-key-abcdef123456\n"
                                                    "LLM_PROVIDER=openrouter\n")
    extra = tmp_path / "more.env"
    extra.write_text("VLLM_BASE_URL=http://10.0.0.5:8000/v1\n")
    environ = {"OPENAI_API_KEY": "sk-real-env-key-987654321"}
    loaded = load_env_files([extra], cwd=tmp_path, environ=environ)
    assert loaded["OPENAI_API_KEY"] == environ["OPENAI_API_KEY"] == "sk-real-env-key-987654321"
    assert environ["SCW_SECRET_KEY"] == SCW and environ["OPENROUTER_API_KEY"] == "or-key-abcdef123456"
    assert environ["LLM_PROVIDER"] == "scaleway"  # .env is read before .env.benchmark-models
    assert environ["VLLM_BASE_URL"] == "http://10.0.0.5:8000/v1"
    text = default_redactor().redact(f"bad key {SCW} / or-key-abcdef123456 / sk-file-key-123456789")
    assert SCW not in text and "abcdef123456" not in text and "123456789" not in text
    # config values are not secrets: masking them would corrupt every record
    assert default_redactor().redact("scaleway at http://10.0.0.5:8000/v1") == "scaleway at http://10.0.0.5:8000/v1"


def test_missing_default_files_are_fine_but_explicit_ones_are_not(tmp_path: Path) -> None:
    assert load_env_files(cwd=tmp_path, environ={}) == {}
    with pytest.raises(InputError, match="env file not found"):
        load_env_files([tmp_path / "nope.env"], cwd=tmp_path, environ={})


def test_presets() -> None:
    scw = host_for("scaleway", {})
    assert scw is not None and scw.base_url == "https://api.scaleway.ai/v1" and scw.api_key_env == "SCW_SECRET_KEY"
    orr = host_for("openrouter", {})
    assert orr is not None and orr.base_url == "https://openrouter.ai/api/v1"
    assert orr.api_key_env == "OPENROUTER_API_KEY"
    vllm = host_for("vllm", {"VLLM_BASE_URL": "http://gpu:8000/v1/"})
    assert vllm is not None and vllm.base_url == "http://gpu:8000/v1" and vllm.api_key_env is None
    unset = host_for("llamacpp", {})
    assert unset is not None and unset.base_url is None  # the caller reports "no endpoint"
    assert host_for("nonesuch", {}) is None
    assert set(switchable()) >= {"scaleway", "openrouter", "vllm", "llamacpp"}


def test_llm_provider_switch() -> None:
    chosen = host_for("llm", {"LLM_PROVIDER": "scaleway"})
    assert chosen is not None and chosen.name == "scaleway" and chosen.api_key_env == "SCW_SECRET_KEY"
    local = host_for("llm", {"LLM_PROVIDER": "llamacpp", "LLAMACPP_BASE_URL": "http://127.0.0.1:8080/v1"})
    assert local is not None and local.base_url == "http://127.0.0.1:8080/v1"
    with pytest.raises(InputError, match="LLM_PROVIDER"):
        host_for("llm", {})
    with pytest.raises(InputError, match="unknown provider preset 'azure'"):
        host_for("llm", {"LLM_PROVIDER": "azure"})
