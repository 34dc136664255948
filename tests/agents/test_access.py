"""Models without a key: left out with one note per missing key variable."""

from __future__ import annotations

import pytest

from agents.access import access_notes, split_by_access
from agents.config import FleetConfig
from agents.plan import WorkItem, build_request
from agents.providers import resolve_provider
from harness.model_ref import ModelRef


def test_one_note_per_missing_key_naming_its_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = FleetConfig()
    names = ["anthropic/claude-haiku-4-5", "claude-sdk/claude-opus-4-1", "openai/gpt-5-codex@low"]
    items = [WorkItem(phase="p", item_id="i", model=n, request=build_request(ModelRef.parse(n), "hi", system=None, max_tokens=8,
                                                                 temperature=0.0, stream=False, timeout_s=5))
             for n in names]
    providers = {p: resolve_provider(p, config) for p in ("anthropic", "claude-sdk", "openai")}
    allowed, denied = split_by_access(items, providers)
    assert not allowed and len(denied) == 3
    assert access_notes(denied, providers) == [
        "left out anthropic/claude-haiku-4-5, claude-sdk/claude-opus-4-1: no key ($ANTHROPIC_API_KEY is not set)",
        "left out openai/gpt-5-codex@low: no key ($OPENAI_API_KEY is not set)"]
