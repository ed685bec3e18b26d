"""Frame time of the interactive page: from a click on Step to every figure redrawn.

Two measurements, printed as one table:

- in this process, the page rendered by Solara without a browser: a click on
  Step, split into the model step, the figures (time-series panels as PNG, the
  supply graph as SVG) and Solara's render of the page;
- end to end: ``abm viz`` served, headless Chromium at 1400x1000 clicks Step,
  and the page itself times the click until every figure on the open tab has
  been replaced and decoded (no Playwright round trips in the number).

Frames are steps 2 to 1 + ``--frames`` of the baseline (step 1 builds every
figure once): the early months, when the charts' axes still grow most often.

    .venv/bin/python benchmarks/viz_frame.py [--frames 12] [--no-browser]
    .venv/bin/python benchmarks/viz_frame.py --browser-only --source /tmp/old-checkout

``--source`` serves another checkout's page (e.g. ``git worktree add /tmp/old
<commit>``) to compare before and after on the same machine in the same run;
only the browser measurement applies to it.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import warnings
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 300.0
CHROMIUM = Path(os.environ.get("ABM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

# In the page: click Step, then wait for every visible figure to be replaced and
# decoded. Any page with a "Step" button and figures as <img> works (old ones too).
FRAME_JS = """
async () => {
    const figures = () => [...document.querySelectorAll('img')]
        .filter(i => i.offsetParent !== null && i.naturalWidth > 150);
    const before = figures().map(i => i.src);
    const step = [...document.querySelectorAll('button')]
        .find(b => b.textContent.trim().toLowerCase() === 'step');
    const t0 = performance.now();
    step.click();
    for (;;) {
        await new Promise(r => requestAnimationFrame(r));
        const now = figures();
        if (now.length === before.length && now.every((img, k) => img.src !== before[k])) {
            await Promise.all(now.map(img => img.decode()));
            return [performance.now() - t0, now.length];
        }
        if (performance.now() - t0 > 60000) return [-1, now.length];
    }
}
"""


def quantiles(values: list[float]) -> tuple[float, float]:
    """Median and 90th percentile, in ms."""
    ms = sorted(v * 1000 for v in values)
    return statistics.median(ms), ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]


def in_process(frames: int) -> list[tuple[str, list[float]]]:
    """Step clicks on the page rendered in this process, split into their parts."""
    import ipyvuetify as v
    import solara

    from abm.viz import app

    parts: dict[str, float] = defaultdict(float)

    def timed(name: str, method):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                parts[name] += time.perf_counter() - t

        return wrapper

    app.Run.advance = timed("model step", app.Run.advance)
    app.Run.panels_png = timed("time-series panels (PNG)", app.Run.panels_png)
    app.Run.graph_svg = timed("supply graph (SVG)", app.Run.graph_svg)
    rows: list[tuple[str, list[float]]] = []
    for tab, name in enumerate(app.TABS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
        rc.find(v.Tabs).widget.v_model = tab
        step = rc.find(v.Btn, children=["Step"]).widget
        step.click()  # step 1 builds every figure
        per_part: dict[str, list[float]] = defaultdict(list)
        for _ in range(frames):
            parts.clear()
            t = time.perf_counter()
            step.click()
            total = time.perf_counter() - t
            for part, seconds in parts.items():
                per_part[part].append(seconds)
            per_part["Solara render of the page"].append(total - sum(parts.values()))
            per_part["total in process"].append(total)
        rc.close()
        rows += [(f"{name}: {part}", times) for part, times in per_part.items()]
    return rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def in_browser(frames: int, source: Path) -> list[tuple[str, list[float]]]:
    """Step clicks in headless Chromium against ``abm viz`` served from ``source``."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = dict(os.environ, PYTHONPATH=str(source), SOLARA_TELEMETRY_MIXPANEL_ENABLE="false")
    server = subprocess.Popen(
        [sys.executable, "-m", "abm.viz.cli", "--port", str(port)],
        cwd=source,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    rows: list[tuple[str, list[float]]] = []
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"abm viz from {source} did not start") from None
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.get_by_role("button", name="Step").wait_for(timeout=180_000)
            tabs = page.get_by_role("tab")
            tabs.first.wait_for(timeout=60_000)
            for k in range(tabs.count()):
                name = tabs.nth(k).inner_text().strip()
                tabs.nth(k).click()
                page.wait_for_timeout(2000)  # let the tab's figures arrive before timing
                page.evaluate(FRAME_JS)  # the first step on a tab builds its figures
                times, shown = [], 0
                for _ in range(frames):
                    ms, shown = page.evaluate(FRAME_JS)
                    if ms < 0:
                        raise RuntimeError(f"tab {name!r}: figures not redrawn within 60 s")
                    times.append(ms / 1000)
                rows.append((f"browser, tab {name!r}: click to {shown} image(s) redrawn", times))
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--no-browser", action="store_true", help="skip the browser measurement")
    parser.add_argument("--browser-only", action="store_true", help="skip the in-process one")
    parser.add_argument("--source", type=Path, default=ROOT, help="checkout to serve the page from")
    args = parser.parse_args()

    rows = [] if args.browser_only else in_process(args.frames)
    if not args.no_browser:
        if CHROMIUM.exists():
            rows += in_browser(args.frames, args.source.resolve())
        else:
            print(f"(browser measurement skipped: no Chromium at {CHROMIUM})")
    load = os.getloadavg()[0]
    print(
        f"frame time of the interactive page, {args.frames} frames, {os.cpu_count()} cores, "
        f"load average {load:.1f} at the end; source {args.source}"
    )
    width = max(len(name) for name, _ in rows) + 2
    print(f"{'':<{width}}{'median ms':>10}{'p90 ms':>8}  target")
    for name, times in rows:
        median, p90 = quantiles(times)
        target = f"<= {TARGET_MS:.0f} ms" if name.startswith("browser") else ""
        print(f"{name:<{width}}{median:>10.0f}{p90:>8.0f}  {target}")


if __name__ == "__main__":
    main()
