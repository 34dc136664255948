"""The fleetbench config file: defaults, a full file, and errors naming file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.config import FleetConfig, load_config
from harness.errors import InputError

FULL = """\
providers:
  openai:
    api_key_env: OPENAI_API_KEY
    limits:
      max_concurrent: 4
      requests_per_window: 500
    timeout_s: 30
  sim:
    base_url: http://127.0.0.1:8765
    transport: httpx
retry:
  max_attempts: 3
concurrency: 16
workers_per_phase: 2
default_models: [openai/gpt-4o-mini, sim/fast@high]
simulator: sim.yaml
repeat: 2
"""


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fleet.yaml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "sim.yaml").write_text("{}\n", encoding="utf-8")
    return path


def _error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_config(path)
    assert "fleet.yaml" in info.value.where
    return info.value


def test_none_gives_defaults() -> None:
    config = load_config(None)
    assert config == FleetConfig()
    assert config.concurrency == 8 and config.workers_per_phase == 1 and config.repeat == 1
    assert config.timeout_for("anything") == 60


def test_full_file(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, FULL))
    assert config.providers["openai"].limits.max_concurrent == 4
    assert config.providers["openai"].transport == "aiohttp"
    assert config.providers["sim"].transport == "httpx"
    assert config.retry.max_attempts == 3
    assert config.default_models == ["openai/gpt-4o-mini", "sim/fast@high"]
    assert config.simulator == tmp_path / "sim.yaml"  # relative to the config file
    assert config.timeout_for("openai") == 30 and config.timeout_for("sim") == 60


def test_bad_default_model_names_field_and_line(tmp_path: Path) -> None:
    err = _error(_config(tmp_path, FULL.replace("sim/fast@high", "gpt-4o")))
    assert err.where.endswith(":15")
    assert err.message.startswith("default_models.1: ")
    assert "provider/model" in err.message


def test_unknown_limit_key(tmp_path: Path) -> None:
    err = _error(_config(tmp_path, FULL.replace("max_concurrent", "max_concurent")))
    assert err.where.endswith(":5")
    assert err.message.startswith("providers.openai.limits.max_concurent: Extra inputs")


def test_bad_transport(tmp_path: Path) -> None:
    err = _error(_config(tmp_path, FULL.replace("transport: httpx", "transport: requests")))
    assert err.where.endswith(":10") and err.message.startswith("providers.sim.transport: ")


def test_zero_concurrency(tmp_path: Path) -> None:
    err = _error(_config(tmp_path, FULL.replace("concurrency: 16", "concurrency: 0")))
    assert err.where.endswith(":13") and err.message.startswith("concurrency: ")


def test_missing_simulator_file(tmp_path: Path) -> None:
    err = _error(_config(tmp_path, FULL.replace("simulator: sim.yaml", "simulator: other.yaml")))
    assert err.where.endswith(":16") and "other.yaml" in err.message


def test_missing_config_file(tmp_path: Path) -> None:
    err = _error(tmp_path / "fleet.yaml")
    assert err.message == "file not found"
