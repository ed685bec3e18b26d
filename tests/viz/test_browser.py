"""The page as users see it: ``abm viz`` served, driven in headless Chromium.

Every wait is on a condition in the page, bounded generously: these tests must
pass on a 2-core machine kept busy by other work. Set ``ABM_SCREENSHOT=1`` to
refresh ``docs/img/viz.png`` (1400x1000) from this run.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from abm.config import load_config

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "img" / "viz.png"
LOAD_MS = 180_000  # first page load: Solara starts a kernel, the page builds a model
STEP_MS = 60_000  # one step and its redraw, on a machine busy with other work

# the figures on the open tab, and whether each has been decoded
FIGURES = "() => [...document.querySelectorAll('img.abm-figure')].filter(i => i.offsetParent)"
ALL_REPLACED = f"""
old => {{
    const now = ({FIGURES})();
    return now.length === old.length && now.every((img, k) => img.src !== old[k]
        && img.complete && img.naturalWidth > 0);
}}
"""


def expect(locator):
    """Playwright's expect (which waits for the condition), with this module's patience."""
    from playwright.sync_api import expect as playwright_expect  # absent: conftest skips

    playwright_expect.set_options(timeout=STEP_MS)
    return playwright_expect(locator)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``abm viz`` on a free port; yields its URL and its log file."""
    port = free_port()
    log = tmp_path_factory.mktemp("viz") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "abm", "viz", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            cwd=ROOT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + LOAD_MS / 1000
        while True:
            if proc.poll() is not None:
                pytest.fail(f"abm viz exited with {proc.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"abm viz did not answer in time:\n{log.read_text()}")
            time.sleep(0.5)
        yield url, log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # abm viz stops its server itself
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


class Visitor:
    """One browser context (its own cookies: its own Solara session) and its page."""

    def __init__(self, browser, url: str) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url)
        self.wait_for_step(0, "120", timeout=LOAD_MS)
        self.page.wait_for_function(
            f"() => ({FIGURES})().length === 1 && ({FIGURES})()[0].naturalWidth > 0",
            timeout=STEP_MS,
        )

    def wait_for_step(self, step: int, of: str = r"\d+", timeout: float = STEP_MS) -> None:
        self.page.locator(
            ".abm-position", has_text=re.compile(rf"^Step: {step} of {of}$")
        ).wait_for(timeout=timeout)

    def step(self, expected: int) -> None:
        """Click Step and wait for the counter and for every figure on the tab to be redrawn."""
        sources = self.page.evaluate(f"() => ({FIGURES})().map(i => i.src)")
        self.page.get_by_role("button", name="Step").click()
        self.wait_for_step(expected)
        self.page.wait_for_function(ALL_REPLACED, arg=sources, timeout=STEP_MS)

    def lever(self, key: str):
        return self.page.locator(f".abm-lever-{key.replace('.', '-').replace('_', '-')}")

    def press(self, key: str, keys: list[str], then_shows: str) -> None:
        """Press keys on a lever's slider, one round trip to the server at a time."""
        slider = self.lever(key).locator("[role=slider]")
        for k in keys:
            slider.press(k)
        self.lever(key).locator(".abm-lever-value", has_text=then_shows).wait_for(timeout=STEP_MS)

    def close(self) -> None:
        self.context.close()


def test_levers_tabs_step_and_reset_in_a_real_browser(server, chromium):
    url, _ = server
    visitor = Visitor(chromium, url)
    page = visitor.page
    try:
        tabs = [t.text_content().strip() for t in page.get_by_role("tab").all()]
        assert tabs == ["Market", "Supply graph and startups"]

        price = visitor.lever("end_users.price_elasticity")
        baseline = load_config(None).end_users.price_elasticity  # 1.1 since issue 11
        assert [price.locator(f".abm-lever-{p}").inner_text() for p in ("value", "min", "max")] == [
            f"{baseline:.2f}",
            "0.30",
            "3.00",
        ]
        lead_time = visitor.lever("datacenters.lead_time_multiplier").locator(".abm-lever-value")
        assert lead_time.inner_text() == "1.00 × baseline"
        assert visitor.lever("simulation.steps").locator(".abm-lever-value").inner_text() == (
            "120 months"
        )

        for k in (1, 2):
            visitor.step(k)  # the 12 panels, in one image, are redrawn
        expect(page.locator(".abm-summary")).to_contain_text("step 2 of 120 (2023-02)")

        # a moved lever is marked pending until Reset builds a new model from it
        visitor.press("model_developers.frontier_count", ["ArrowRight"], "5 (pending)")
        visitor.press("model_developers.frontier_count", ["ArrowRight"], "6 (pending)")
        expect(page.locator(".abm-pending")).to_have_text("1 pending change: Reset applies it")
        page.get_by_role("button", name="Reset").click()
        visitor.wait_for_step(0)
        summary = page.locator(".abm-summary")
        expect(summary).to_contain_text("frontier labs = 6", timeout=STEP_MS)
        expect(page.locator(".abm-pending")).to_have_count(0, timeout=STEP_MS)
        frontier = visitor.lever("model_developers.frontier_count").locator(".abm-lever-value")
        expect(frontier).to_have_text("6", timeout=STEP_MS)

        page.get_by_role("tab", name="Supply graph and startups").click()
        page.wait_for_function(
            f"() => ({FIGURES})().length === 2 && ({FIGURES})().every(i => i.naturalWidth > 0)",
            timeout=STEP_MS,
        )
        visitor.step(1)  # the supply graph and the startup charts
    finally:
        visitor.close()
    assert visitor.errors == [], f"browser console errors: {visitor.errors}"


def test_play_stops_at_the_configured_end_and_says_so(server, chromium):
    url, _ = server
    visitor = Visitor(chromium, url)
    page = visitor.page
    try:
        visitor.press("simulation.steps", ["Home"], "6 months (pending)")
        # four steps a frame: Mesa 3.3.1's Play would step on to 8 of 6
        visitor.press("render_interval", ["ArrowRight"] * 3, "4 steps a frame")
        page.get_by_role("button", name="Reset").click()
        visitor.wait_for_step(0, "6")
        page.get_by_role("button", name="▶").click()
        ended = page.locator(".abm-ended")
        expect(ended).to_contain_text(
            "The run has ended: step 6 (2023-06) is its configured end", timeout=LOAD_MS
        )
        # each wait below would time out on a run that went on to step 8
        expect(page.locator(".abm-position")).to_have_text("Step: 6 of 6", timeout=STEP_MS)
        expect(page.locator(".abm-summary")).to_contain_text("step 6 of 6 (2023-06)")
        expect(page.get_by_role("button", name="▶")).to_be_disabled(timeout=STEP_MS)
        expect(page.get_by_role("button", name="Step")).to_be_disabled(timeout=STEP_MS)
        if os.environ.get("ABM_SCREENSHOT"):
            save_screenshot(chromium, url)
    finally:
        visitor.close()
    assert visitor.errors == [], f"browser console errors: {visitor.errors}"


def test_two_visitors_have_separate_models(server, chromium):
    url, _ = server
    first = Visitor(chromium, url)
    second = Visitor(chromium, url)
    try:
        first.step(1)
        first.step(2)
        second.step(1)  # a shared model would now be at step 3
        expect(second.page.locator(".abm-summary")).to_contain_text("step 1 of 120 (2023-01)")
        expect(first.page.locator(".abm-position")).to_have_text("Step: 2 of 120")
    finally:
        first.close()
        second.close()
    assert first.errors == second.errors == []


def test_the_server_log_has_no_warnings_or_tracebacks(server):
    _, log = server
    text = log.read_text()
    assert not [line for line in text.splitlines() if re.search("warn|traceback|error", line, re.I)]
    assert "AutoDateLocator" not in text and "samesite" not in text


def save_screenshot(browser, url: str) -> None:
    """``docs/img/viz.png``: the market tab of the baseline five years in, at 1400x1000."""
    import io

    from PIL import Image

    visitor = Visitor(browser, url)
    try:
        visitor.press("render_interval", ["ArrowRight"] * 5, "6 steps a frame")
        visitor.page.get_by_role("button", name="▶").click()
        visitor.page.wait_for_function(
            """() => [...document.querySelectorAll('.abm-position')]
                .some(e => Number(e.textContent.split(' ')[1]) >= 60)""",
            timeout=LOAD_MS,
        )
        visitor.page.get_by_role("button", name="❚❚").click()
        visitor.page.wait_for_function(
            """() => [...document.querySelectorAll('button')]
                .some(b => b.textContent.trim() === 'Step' && !b.disabled)""",
            timeout=STEP_MS,
        )
        visitor.page.wait_for_function(
            f"() => ({FIGURES})().every(i => i.complete && i.naturalWidth > 0)", timeout=STEP_MS
        )
        visitor.page.evaluate("document.activeElement.blur()")  # no focus ring on ❚❚
        visitor.page.mouse.move(700, 90)  # and no hover highlight
        visitor.page.wait_for_function(
            "() => !document.querySelector('.v-ripple__animation')", timeout=STEP_MS
        )
        png = visitor.page.screenshot()
    finally:
        visitor.close()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    # 256 colours chosen to cover the picture (which keeps the few pixels of each line's
    # colour and the faint grid): a quarter of the size of the screenshot as it is
    image = Image.open(io.BytesIO(png)).convert("RGB")
    palette = image.quantize(colors=256, method=Image.Quantize.MAXCOVERAGE, kmeans=3)
    palette.save(SCREENSHOT, optimize=True)
