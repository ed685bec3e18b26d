"""The page as a user sees it: ``abm viz`` served, driven in headless Chromium.

Set ``ABM_SCREENSHOT=1`` to refresh ``docs/img/viz.png`` from this run.
"""

from __future__ import annotations

import io
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

from abm import load_config

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "img" / "viz.png"

# sha-1 of each figure's bytes, in page order (supply graph first)
FINGERPRINTS = """
async () => Promise.all([...document.querySelectorAll('.vue-grid-item img')].map(async img => {
    try {
        const data = await (await fetch(img.src)).arrayBuffer();
        const hash = new Uint8Array(await crypto.subtle.digest('SHA-1', data));
        return Array.from(hash, b => b.toString(16).padStart(2, '0')).join('');
    } catch (e) {
        return 'unreadable:' + img.src;
    }
}))
"""
SOURCES = "() => [...document.querySelectorAll('.vue-grid-item img')].map(i => i.src)"
ALL_REPLACED = """
old => {
    const now = [...document.querySelectorAll('.vue-grid-item img')].map(i => i.src);
    return now.length === old.length && now.every((src, i) => src !== old[i]);
}
"""
FIGURES_LOADED = """
n => {
    const imgs = [...document.querySelectorAll('.vue-grid-item img')];
    return imgs.length >= n && imgs.every(i => i.complete && i.naturalWidth > 0);
}
"""


STEP_AT_LEAST = """
n => [...document.querySelectorAll('span')].some(
    s => /^Step: \\d+$/.test(s.textContent) && Number(s.textContent.slice(6)) >= n)
"""
PLAY_TO = 15  # steps: enough for the charts to show a trend in the screenshot


def save_screenshot(png: bytes, path: Path) -> None:
    """A 128-colour PNG: a third of the size, and the page has few colours anyway."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=128).save(path, optimize=True)


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
            [sys.executable, "-m", "abm.viz.cli", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
            cwd=ROOT,
            start_new_session=True,  # its own process group: solara run is its child
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
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
                pytest.fail(f"abm viz did not answer within 120 s:\n{log.read_text()}")
            time.sleep(0.5)
        yield url, log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def step_count(page) -> int:
    text = page.get_by_text(re.compile(r"^Step: \d+$")).inner_text()
    return int(text.split(":")[1])


def wait_for_step(page, n: int, timeout_ms: float = 30_000) -> None:
    page.get_by_text(f"Step: {n}", exact=True).wait_for(timeout=timeout_ms)


def test_step_play_pause_and_reset_in_a_real_browser(server, chromium):
    url, log = server
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(url)
        wait_for_step(page, 0, timeout_ms=120_000)  # the app is up, not stuck on "Loading app"
        page.wait_for_function(FIGURES_LOADED, arg=4, timeout=60_000)
        assert page.get_by_text("Model Parameters").is_visible()
        start = page.evaluate(FINGERPRINTS)
        assert len(start) == 4  # supply graph and three charts on the first tab

        # Step: counter, supply graph and every chart move on; time each frame
        frames = []
        previous = start
        for k in (1, 2, 3):
            srcs = page.evaluate(SOURCES)
            t = time.perf_counter()
            page.get_by_role("button", name="Step").click()
            wait_for_step(page, k)
            page.wait_for_function(ALL_REPLACED, arg=srcs, timeout=30_000)
            page.wait_for_function(FIGURES_LOADED, arg=4)
            frames.append(time.perf_counter() - t)
            now = page.evaluate(FINGERPRINTS)
            assert all(a != b for a, b in zip(now, previous, strict=True)), f"step {k}: not redrawn"
            previous = now
        print(
            f"browser frame (Step click to every figure replaced), median of 3: "
            f"{sorted(frames)[1]:.2f} s"
        )

        # Play runs on by itself; Pause stops it
        page.get_by_role("button", name="▶").click()
        page.wait_for_function(STEP_AT_LEAST, arg=PLAY_TO, timeout=120_000)
        page.get_by_role("button", name="❚❚").click()
        page.get_by_role("button", name="▶").wait_for(timeout=10_000)
        page.wait_for_timeout(1500)  # let a step that was under way finish
        paused_at = step_count(page)
        page.wait_for_timeout(2000)
        assert step_count(page) == paused_at >= PLAY_TO
        if os.environ.get("ABM_SCREENSHOT"):
            save_screenshot(page.screenshot(), SCREENSHOT)

        # a lever moved, then Reset: a new model built from it
        assert "levers moved: none" in page.get_by_text(re.compile("^Scenario ")).inner_text()
        frontier = load_config().model_developers.frontier_count
        slider = page.locator(".v-input", has_text="Frontier labs").locator("[role=slider]")
        assert slider.get_attribute("aria-valuenow") == str(frontier)
        for notch in (1, 2):  # one key at a time: each change makes a round trip to the server
            slider.press("ArrowRight")
            page.wait_for_function(
                "([el, v]) => el.getAttribute('aria-valuenow') === v",
                arg=[slider.element_handle(), str(frontier + notch)],
            )
            page.wait_for_timeout(300)
        before_reset = page.evaluate(FINGERPRINTS)
        page.get_by_role("button", name="Reset").click()
        wait_for_step(page, 0)
        summary = page.get_by_text(re.compile("^Scenario "))
        summary.filter(has_text="levers moved: frontier labs = ").wait_for(timeout=30_000)
        moved_to = int(summary.inner_text().rsplit("=", 1)[1])
        after_reset = page.evaluate(FINGERPRINTS)
        assert after_reset[0] != before_reset[0]
        page.get_by_role("button", name="Step").click()
        wait_for_step(page, 1)
    finally:
        page.close()

    assert moved_to == frontier + 2
    assert errors == [], f"browser console errors: {errors}"
    server_log = log.read_text()
    assert "Traceback" not in server_log, server_log
