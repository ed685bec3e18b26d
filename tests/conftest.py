"""Shared fixtures.

Browser tests (``@pytest.mark.browser``) drive Debian's Chromium through Playwright:
``playwright install`` cannot download a browser here. Without Chromium they skip,
except under CI=true, where a missing browser is a broken setup and fails.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("ABM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"needs Chromium at {CHROMIUM} (apt-get install -y chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "needs the playwright package (pip install -e '.[test]')"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("browser") is None:
        return
    missing = _browser_missing()
    if missing is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser test {missing}; CI=true, so not skipping", pytrace=False)
    pytest.skip(f"browser test {missing}")


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    """Launch arguments for Debian's Chromium (also read by pytest-playwright, if installed)."""
    return {"executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def chromium(browser_type_launch_args):
    """A headless Chromium for one test module, driven by Playwright's sync API.

    Module scope: Playwright's event loop is gone before other modules' tests run.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(**browser_type_launch_args)
        yield browser
        browser.close()
