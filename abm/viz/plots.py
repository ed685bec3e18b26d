"""Time-series panels of the market, one small figure per unit, redrawn by blitting.

Pure matplotlib on the DataCollector's columns, no Solara. Each :class:`Panel`
has one unit, written on its y axis (series of different units never share an
axis). :class:`PanelFigure` keeps one Agg figure per panel for a whole run:

- the time axis spans the configured run from the start, so it never moves and
  shows how far the run has come;
- the value axis only grows, to rounded limits with headroom (as NetLogo plots
  do), so it changes in a few frames of a run and not in the others;
- a frame that keeps the axes restores the picture of axes, ticks, title and
  legend drawn earlier and draws only the lines on it (matplotlib's blitting):
  a millisecond instead of the tens a full draw takes.

:func:`grid_png` puts the panels of a tab together into one PNG.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

from abm.viz.graph_view import LAYER_COLOURS

PANEL_SIZE = (3.4, 1.95)  # inches; the page shows three panels a row
DPI = 100  # one image pixel per CSS pixel at 1400 px wide; 150 costs ~10 ms a panel more
# fixed margins in inches (a layout engine would double the cost of a full draw)
MARGINS = {"left": 0.66, "right": 0.1, "bottom": 0.28, "top": 0.3}
HEADROOM = 0.25  # a growing linear axis makes room for a quarter of its span more
LOG_HEADROOM = 2.0  # a growing log axis makes room for a factor 2 more


@dataclass(frozen=True)
class Series:
    column: str  # a metric of abm.metrics.METRICS
    label: str
    colour: str | None = None  # None: matplotlib's colour cycle


@dataclass(frozen=True)
class Panel:
    title: str
    series: tuple[Series, ...]
    unit: str  # y-axis label, after scaling
    scale: float = 1.0  # displayed value = column value * scale
    log: bool = False
    limits: tuple[float, float] | None = None  # fixed value axis (e.g. 0-100 %)


def _s(*pairs: tuple[str, str]) -> tuple[Series, ...]:
    return tuple(Series(c, label) for c, label in pairs)


# (label, metric suffix, graph layer): margins and profit take the supply graph's colours
LAYER_SERIES = (
    ("vendors", "vendor", "vendor"),
    ("clouds", "hyperscalers", "hyperscaler"),
    ("labs", "model_devs", "model_developer"),
    ("startups", "startups", "startup"),
)


def _by_layer(prefix: str) -> tuple[Series, ...]:
    return tuple(
        Series(f"{prefix}_{key}", label, LAYER_COLOURS[layer]) for label, key, layer in LAYER_SERIES
    )


# The market tab: a row each for prices, volumes, capacity and margins.
MARKET: dict[str, tuple[Panel, ...]] = {
    "Prices": (
        Panel("GPU price paid", _s(("gpu_price", "GPU")), "$ thousand per GPU", 1e-3),
        Panel("Compute price", _s(("compute_price", "compute")), "$ per H100e GPU-hour"),
        Panel(
            "Token prices",
            _s(("token_price", "average paid"), ("price_at_fixed_capability", "fixed capability")),
            "$ per million tokens",
            log=True,
        ),
    ),
    "Volumes": (
        Panel(
            "Tokens served", _s(("tokens", "tokens")), "trillion tokens per month", 1e-6, log=True
        ),
        Panel(
            "Compute sold and demanded",
            _s(("compute_sold", "sold"), ("compute_demand", "demanded")),
            "billion GPU-hours per month",
            1e-9,
            log=True,
        ),
        Panel(
            "GPU orders and shipments",
            _s(("gpu_orders", "orders"), ("gpu_shipments", "shipments")),
            "thousand GPUs per month",
            1e-3,
        ),
    ),
    "Capacity": (
        Panel(
            "Data-centre power",
            _s(("dc_capacity_mw", "energized"), ("dc_pipeline_mw", "pipeline")),
            "GW (IT load)",
            1e-3,
        ),
        Panel(
            "Installed GPUs", _s(("installed_gpus", "installed")), "million H100e", 1e-6, log=True
        ),
        Panel(
            "Utilisation and shortage",
            _s(("utilization", "utilisation"), ("compute_shortage", "shortage")),
            "% of compute",
            100.0,
            limits=(0.0, 100.0),
        ),
    ),
    "Margins": (
        Panel("Gross margin", _by_layer("margin"), "% of revenue", 100.0),
        Panel("Gross profit", _by_layer("profit"), "$ billion per month", 1e-9),
        Panel(
            "Vendors' share of profit",
            _s(("vendor_profit_share", "vendors")),
            "% of the chain's gross profit",
            100.0,
            limits=(0.0, 100.0),
        ),
    ),
}

# Under the supply graph: the startups it shows entering and leaving, and their funding.
STARTUPS: tuple[Panel, ...] = (
    Panel("Startups alive", _s(("startups_alive", "alive")), "startups"),
    Panel(
        "Entries and exits",
        _s(("startup_entries", "entries"), ("startup_exits", "exits")),
        "startups per month",
    ),
    Panel("Venture funding", _s(("vc_funding", "VC funding")), "$ billion per month", 1e-9),
)

ALL_PANELS: tuple[Panel, ...] = (*(p for row in MARKET.values() for p in row), *STARTUPS)


# --------------------------------------------------------------------------- time axis
@dataclass(frozen=True)
class TimeAxis:
    """Months 1..``steps`` of a run starting in ``start`` (YYYY-MM), ticked at round dates."""

    start: str
    steps: int

    def ticks(self) -> tuple[list[int], list[str]]:
        """Step numbers and labels: Januaries of every year or every few years on long runs,
        every few months on short ones; at most about five ticks."""
        year, month = (int(x) for x in self.start.split("-"))
        first = year * 12 + month - 1  # absolute month index of step 1
        every = next((m for m in (1, 2, 3, 6, 12, 24, 36, 60, 120) if self.steps / m <= 5), 240)
        january = year * 12  # ticks counted from the January of the first year
        steps = [k for k in range(1, self.steps + 1) if (first + k - 1 - january) % every == 0]
        if not steps:
            steps = [1, self.steps] if self.steps > 1 else [1]
        labels = []
        for k in steps:
            y, m = divmod(first + k - 1, 12)
            labels.append(f"{y}" if every >= 12 else f"{y}-{m + 1:02d}")
        return steps, labels

    @property
    def limits(self) -> tuple[float, float]:
        return 0.5, self.steps + 0.5


# --------------------------------------------------------------------------- value axis
def values(data: Mapping[str, Sequence], panel: Panel, series: Series) -> np.ndarray:
    """The column as displayed, months 1.. (row 0 is the state before the first month):
    scaled, with non-finite values, and non-positive ones on a log axis, as gaps."""
    y = np.asarray(data[series.column][1:], dtype=float) * panel.scale
    bad = ~np.isfinite(y) | (y <= 0) if panel.log else ~np.isfinite(y)
    y[bad] = np.nan
    return y


def _nice_linear(lo: float, hi: float) -> tuple[float, float]:
    ticks = MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
    return float(ticks[0]), float(ticks[-1])


_LOG_MANTISSAS = (1.0, 2.0, 5.0)


def _log_floor(x: float) -> float:
    """The largest 1-2-5 number (1, 2, 5, 10, 20, ...) at or below x."""
    k = math.floor(math.log10(x))
    return max(m * 10.0**k for m in _LOG_MANTISSAS if m * 10.0**k <= x * (1 + 1e-12))


def _log_ceil(x: float) -> float:
    k = math.floor(math.log10(x))
    return min(m * 10.0**j for j in (k, k + 1) for m in _LOG_MANTISSAS if m * 10.0**j >= x)


def grown_limits(
    limits: tuple[float, float] | None, ys: Sequence[np.ndarray], log: bool
) -> tuple[float, float] | None:
    """The value axis after this frame: ``limits`` if every value fits, else wider.

    Limits only grow: a line never jumps because another point arrived, and most
    frames keep the axes they had, which is what makes blitting pay off. When the
    data leave the limits, the axis grows past them with headroom and is rounded
    out to tick values. ``None`` while there is nothing to show.
    """
    finite = np.concatenate([y[np.isfinite(y)] for y in ys]) if ys else np.empty(0)
    if not finite.size:
        return limits
    lo, hi = float(finite.min()), float(finite.max())
    if limits is not None and limits[0] <= lo and hi <= limits[1]:
        return limits
    if log:
        if limits is not None:
            lo = lo / LOG_HEADROOM if lo < limits[0] else limits[0]
            hi = hi * LOG_HEADROOM if hi > limits[1] else limits[1]
        new_lo, new_hi = _log_floor(lo), _log_ceil(hi)
        while new_hi / new_lo < 9.99:  # at least a decade, so that ticks have labels
            new_hi = _log_ceil(new_hi * 1.01)
            if new_hi / new_lo < 9.99:
                new_lo = _log_floor(new_lo / 1.01)
        return new_lo, new_hi
    span = (hi - lo) or abs(hi) or 1.0
    if limits is not None:
        old_lo, old_hi = limits
        span = max(hi, old_hi) - min(lo, old_lo)
        lo = lo - HEADROOM * span if lo < old_lo else old_lo
        hi = hi + HEADROOM * span if hi > old_hi else old_hi
    else:
        lo, hi = lo - 0.05 * span, hi + 0.05 * span
    if finite.min() >= 0:
        lo = max(lo, 0.0)  # a quantity that cannot be negative gets no negative axis
    return _nice_linear(lo, hi)


def number(v: float, _pos: object = None) -> str:
    """A tick label: thousands separated, no exponent, no trailing zeros."""
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.4g}"


def _log_ticks(lo: float, hi: float) -> list[float]:
    """Labelled ticks of a log axis from ``lo`` to ``hi``: 1-2-5 numbers up to two decades,
    powers of ten beyond (thinned to about six), and 1-3 numbers (half decades) when a
    span of two to three decades holds fewer than three powers of ten (0.2 to 50)."""

    def within(mantissas: tuple[float, ...]) -> list[float]:
        k0, k1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        ticks = [m * 10.0**k for k in range(k0, k1 + 1) for m in mantissas]
        return [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]

    if math.log10(hi / lo) <= 2.01:
        return within(_LOG_MANTISSAS)
    ticks = within((1.0,))
    if len(ticks) < 3:
        return within((1.0, 3.0))
    if len(ticks) > 6:  # many decades: every second or third decade
        ticks = ticks[:: math.ceil(len(ticks) / 6)]
    return ticks


# --------------------------------------------------------------------------- the figure
class PanelFigure:
    """One panel of one run: full draws when its axes change, blitted lines otherwise."""

    def __init__(
        self,
        panel: Panel,
        axis: TimeAxis,
        size: tuple[float, float] = PANEL_SIZE,
        dpi: float = DPI,
    ) -> None:
        self.panel = panel
        self.axis = axis
        self.fig = Figure(figsize=size, dpi=dpi, facecolor="white")
        self.canvas = FigureCanvasAgg(self.fig)
        w, h = size
        m = MARGINS
        self.ax = ax = self.fig.add_axes(
            (
                m["left"] / w,
                m["bottom"] / h,
                1 - (m["left"] + m["right"]) / w,
                1 - (m["bottom"] + m["top"]) / h,
            )
        )
        # animated lines are left out of full draws: they are drawn on the restored picture
        self.lines = [
            ax.plot([], [], lw=1.3, color=s.colour, label=s.label, animated=True)[0]
            for s in panel.series
        ]
        ax.set_xlim(*axis.limits)
        steps, labels = axis.ticks()
        ax.xaxis.set_major_locator(FixedLocator(steps))
        ax.set_xticklabels(labels)
        ax.xaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_minor_locator(NullLocator())
        if panel.log:
            ax.set_yscale("log")
            ax.yaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_formatter(FuncFormatter(number))
        ax.set_ylabel(panel.unit, fontsize=7)
        ax.tick_params(labelsize=7, length=2.5, pad=1.5)
        ax.grid(alpha=0.3, lw=0.5)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        # fig.text, not set_title: a title costs a tight-bbox pass on every full draw
        self.fig.text(0.01, 0.97, panel.title, fontsize=8, weight="bold", va="top")
        if len(panel.series) > 1:
            # above the axes, never over a line
            self.fig.legend(
                handles=self.lines,
                loc="upper right",
                bbox_to_anchor=(1.0, 1.02),
                ncol=len(panel.series),
                fontsize=6.5,
                frameon=False,
                handlelength=1.0,
                columnspacing=0.8,
                handletextpad=0.3,
                borderaxespad=0.2,
            )
        self.empty = ax.text(
            0.5, 0.5, "no month simulated yet", transform=ax.transAxes,
            ha="center", va="center", fontsize=6.5, color="#999999",
        )  # fmt: skip
        self.ylim: tuple[float, float] | None = panel.limits
        self.background = None  # the picture without lines, for the axes in self.ylim
        self.full_draws = 0  # how many frames had to draw axes and text (for the benchmark)

    def _full_draw(self) -> None:
        ax = self.ax
        self.empty.set_visible(self.ylim is None)
        if self.ylim is None:  # nothing simulated yet: an empty frame, no made-up scale
            ax.set_ylim(*((1.0, 10.0) if self.panel.log else (0.0, 1.0)))
            ax.yaxis.set_major_locator(NullLocator())
        else:
            lo, hi = self.ylim
            ax.set_ylim(lo, hi)
            if self.panel.log:
                ax.yaxis.set_major_locator(FixedLocator(_log_ticks(lo, hi)))
            else:
                ax.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)
        self.full_draws += 1

    def draw(self, data: Mapping[str, Sequence]) -> np.ndarray:
        """Draw the panel for the data collected so far; its pixels (RGBA, a view)."""
        ys = [values(data, self.panel, s) for s in self.panel.series]
        if self.panel.limits is None:
            limits = grown_limits(self.ylim, ys, self.panel.log)
            if limits != self.ylim:
                self.ylim = limits
                self.background = None
        if self.background is None:
            self._full_draw()
        else:
            self.canvas.restore_region(self.background)
        x = np.arange(1, len(ys[0]) + 1) if ys else np.empty(0)
        for line, y in zip(self.lines, ys, strict=True):
            line.set_data(x, y)
            # a single month is a point, not a line: give it a marker until there are two
            line.set_marker("o" if len(y) == 1 else "None")
            line.set_markersize(2.5)
            self.ax.draw_artist(line)
        return np.asarray(self.canvas.buffer_rgba())

    def frame(self, data: Mapping[str, Sequence]) -> bytes:
        """The panel for the data collected so far, as PNG bytes."""
        return png(self.draw(data))


def grid_png(
    figures: Sequence[PanelFigure], data: Mapping[str, Sequence], columns: int = 3
) -> bytes:
    """Panels side by side, ``columns`` a row, as one PNG.

    One picture rather than one per panel: the browser receives and decodes one
    image a frame, which takes it about half as long as a dozen small ones.
    """
    pixels = [f.draw(data)[:, :, :3] for f in figures]
    h, w, _ = pixels[0].shape
    blank = np.full((h, w, 3), 255, dtype=np.uint8)
    pixels += [blank] * (-len(pixels) % columns)
    rows = [np.concatenate(pixels[i : i + columns], axis=1) for i in range(0, len(pixels), columns)]
    return png(np.concatenate(rows, axis=0))


def png(pixels: np.ndarray) -> bytes:
    """An RGB or RGBA image (rows x columns x channels, uint8) as PNG bytes.

    Written here rather than by Pillow: Pillow tries five row filters on every row,
    which takes ten times as long on these mostly white pictures for files only 5 %
    smaller. Rows unfiltered, zlib level 1: about a millisecond a panel.
    """
    h, w, channels = pixels.shape
    rows = np.zeros((h, 1 + channels * w), dtype=np.uint8)  # each row starts with filter 0
    rows[:, 1:] = pixels.reshape(h, channels * w)
    colour_type = {3: 2, 4: 6}[channels]  # RGB, RGBA
    header = struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)  # 8 bits, no interlace
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
