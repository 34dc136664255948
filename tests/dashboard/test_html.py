"""The page: every tab present, hostile text escaped, nothing loaded from the network, no
raw outputs, and a clear "no data yet" sentence for each missing calibration file."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

import pytest

from dashboard.collect import collect
from dashboard.report import TABS, render
from tests.dashboard.fixture_runs import HOSTILE, PROD_JUDGE, build_runs

TAB_KEYS = ["overview", "llm", "judges", "prod-judges", "latency", "long-context", "tool-use", "history"]


@pytest.fixture
def page(tmp_path: Path) -> str:
    return render(collect(build_runs(tmp_path / "runs")))


def _tab(page: str, key: str) -> str:
    match = re.search(rf'<section class="tab" id="tab-{key}"[^>]*>(.*?)</section>', page, re.DOTALL)
    assert match, f"no section tab-{key}"
    return match.group(1)


def test_every_tab_has_a_button_and_a_section(page: str) -> None:
    assert [key for key, _, _ in TABS] == TAB_KEYS
    for key in TAB_KEYS:
        assert f'data-tab="{key}"' in page and f'id="tab-{key}"' in page
    assert re.search(r'id="tab-overview"(?! hidden)', page)
    assert page.count(" hidden>") == len(TAB_KEYS) - 1


def test_hostile_names_are_escaped_everywhere(page: str) -> None:
    assert "<script>window.__pwned" not in page and "<img src=x" not in page
    assert escape(HOSTILE) in page
    assert "<b>bold</b>" not in page and escape(PROD_JUDGE) in page
    assert len(re.findall(r"<script\b", page)) == 1  # only the tab switcher


def test_page_works_offline(page: str) -> None:
    assert not re.search(r"""(?:src|href|action|xlink:href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE)
    assert "http://" not in page and "https://" not in page
    assert "@import" not in page and "url(" not in page
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp and "default-src &#x27;none&#x27;" in csp.group(1)


def test_outputs_and_error_messages_never_reach_the_page(page: str) -> None:
    assert "SECRET-OUTPUT-TEXT" not in page and "SECRET-ERROR-MESSAGE" not in page


def test_tabs_show_their_numbers(page: str) -> None:
    assert "96.0%" in _tab(page, "overview")  # alpha's success over lineage winners
    assert "91.3" in _tab(page, "llm") and "[85.2, 96.0]" in _tab(page, "llm")
    assert "d41d8cd98f00b204" in _tab(page, "judges") and "75.0%" in _tab(page, "judges")
    assert "81.8%" in _tab(page, "prod-judges")
    assert "slow to start" in _tab(page, "latency") and "<svg" in _tab(page, "latency")
    assert "32k" in _tab(page, "long-context") and _tab(page, "long-context").count("<svg") == 3
    assert "50.0% [1.3%, 98.7%] (1/2 calls, 2 items)" in _tab(page, "tool-use")
    assert "hallucinated_tool" in _tab(page, "tool-use") and "uncertain: tier 1-3" in _tab(page, "tool-use")
    history = _tab(page, "history")
    assert "20260111T090000000Z-cccccc" in history and "0.912" in history and "versions" in history


def test_missing_calibration_files_say_which_command_fills_them(tmp_path: Path) -> None:
    page = render(collect(build_runs(tmp_path / "runs", calibration=False)))
    assert "fleetbench calibrate" in _tab(page, "llm")
    assert "fleetbench select" in _tab(page, "overview")
    assert "fleetbench sweep" in _tab(page, "judges") and "fleetbench sweep" in _tab(page, "prod-judges")
    assert "No data yet for routing weights" in _tab(page, "history")


def test_an_empty_archive_renders_every_tab(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    page = render(collect(tmp_path / "runs"))
    for key in TAB_KEYS:
        assert "No data yet" in _tab(page, key), key
