"""The dashboard in headless Chromium: every tab opens, shows its numbers, hides the others,
and the page runs without script errors (and without running the hostile model name).

Chromium and chromedriver are Debian's `chromium` and `chromium-driver`, installed by
`bash scripts/setup.sh --dev`. Their absence fails the test (never skips): the acceptance
criterion is a real browser opening the page.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboard.report import build_report
from tests.dashboard.fixture_runs import DATASET_HASH, HOSTILE, build_runs

SETUP_HINT = "install Debian's chromium and chromium-driver: run `bash scripts/setup.sh --dev`"

# tab key -> texts its section must show (numbers known by construction of the fixture)
EXPECTED: dict[str, list[str]] = {
    "overview": ["96.0%", "DEFAULT", "best value", "91.3"],
    "llm": ["91.3", "[85.2, 96.0]", "coding", "97.5"],
    "judges": ["judge/consistent-one", DATASET_HASH[:16], "75.0%", "12.5%", "432.1"],
    "prod-judges": ["judge/prod-<b>bold</b>", "81.8%", "90.0%", "210.0"],
    "latency": ["slow to start", "TTFT vs end-to-end latency", "fast"],
    "long-context": ["context_overflow", "32k", "format adherence by context length"],
    "tool-use": ["(1/2 calls, 2 items)", "(2/2 calls, 2 items)", "hallucinated_tool", "uncertain: tier 1-3"],
    "history": ["20260110T100000000Z-aaaaaa", "20260111T090000000Z-cccccc", "0.912", "mean score per model over dates"],
}


def _binary(name: str, fallback: str) -> str:
    found = shutil.which(name) or (fallback if Path(fallback).is_file() else None)
    if found is None:
        pytest.fail(f"{name} not found on PATH: {SETUP_HINT}", pytrace=False)
    return found


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail(f"selenium is missing: {SETUP_HINT}", pytrace=False)
    chromium = _binary("chromium", "/usr/bin/chromium")
    chromedriver = _binary("chromedriver", "/usr/bin/chromedriver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(chromedriver), options=options)
    try:
        yield drv
    finally:
        drv.quit()


@pytest.mark.slow
def test_every_tab_opens_and_shows_its_data(tmp_path: Path, driver: Any) -> None:
    from selenium.webdriver.common.by import By

    result = build_report(build_runs(tmp_path / "runs"))
    driver.get(result.html_path.resolve().as_uri())
    buttons = driver.find_elements(By.CSS_SELECTOR, "nav button[data-tab]")
    assert [b.get_attribute("data-tab") for b in buttons] == list(EXPECTED)
    assert driver.find_element(By.ID, "tab-overview").is_displayed()
    for button in buttons:
        key = button.get_attribute("data-tab")
        button.click()
        section = driver.find_element(By.ID, f"tab-{key}")
        assert section.is_displayed(), key
        assert button.get_attribute("aria-selected") == "true"
        text = section.text
        for expected in EXPECTED[key]:
            assert expected in text, f"tab {key}: {expected!r} not shown"
        for other in EXPECTED:
            if other != key:
                assert not driver.find_element(By.ID, f"tab-{other}").is_displayed(), f"{other} shown with {key}"
        assert section.find_elements(By.CSS_SELECTOR, "svg.chart") or key == "overview", f"no plot in {key}"
    # the hostile model name is shown as text, and its markup never ran
    driver.find_element(By.CSS_SELECTOR, 'nav button[data-tab="llm"]').click()
    assert HOSTILE in driver.find_element(By.ID, "tab-llm").text
    assert driver.execute_script("return window.__pwned === undefined && document.images.length === 0")
    errors = [e for e in _browser_log(driver) if e.get("level") == "SEVERE"]
    assert errors == [], errors


@pytest.mark.slow
def test_a_tab_named_in_the_address_opens_directly(tmp_path: Path, driver: Any) -> None:
    from selenium.webdriver.common.by import By

    result = build_report(build_runs(tmp_path / "runs"))
    driver.get(result.html_path.resolve().as_uri() + "#tool-use")
    assert driver.find_element(By.ID, "tab-tool-use").is_displayed()
    assert not driver.find_element(By.ID, "tab-overview").is_displayed()


def _browser_log(driver: Any) -> list[dict[str, Any]]:
    from selenium.common.exceptions import WebDriverException

    try:
        entries: list[dict[str, Any]] = driver.get_log("browser")
    except (AttributeError, WebDriverException):  # a driver without the logging endpoint
        return []
    return entries
