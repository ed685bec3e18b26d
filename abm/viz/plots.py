"""Time-series figures of the market, one small multiple per unit.

Pure matplotlib on the DataCollector's model-vars DataFrame, no Solara: each
:class:`Chart` is a few panels, and every panel has one unit, written on its
y axis (series of different units never share an axis). The page draws them
once per frame; a notebook can call :func:`draw_chart` directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from matplotlib.dates import AutoDateLocator, DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator


@dataclass(frozen=True)
class Series:
    column: str
    label: str


@dataclass(frozen=True)
class Panel:
    title: str
    series: tuple[Series, ...]
    unit: str  # y-axis label, after scaling
    scale: float = 1.0  # displayed value = column value * scale
    log: bool = False


@dataclass(frozen=True)
class Chart:
    name: str
    panels: tuple[Panel, ...]


def _s(*pairs: tuple[str, str]) -> tuple[Series, ...]:
    return tuple(Series(c, label) for c, label in pairs)


LAYER_SERIES = (
    ("vendors", "vendor"),
    ("hyperscalers", "hyperscalers"),
    ("model developers", "model_devs"),
    ("startups", "startups"),
)

CHARTS: tuple[Chart, ...] = (
    Chart(
        "Prices",
        (
            Panel("GPU price", _s(("gpu_price", "GPU")), "$ thousand per GPU", 1e-3),
            Panel("Compute price", _s(("compute_price", "compute")), "$ per H100e GPU-hour"),
            Panel(
                "Token prices",
                _s(
                    ("token_price", "average paid"),
                    ("price_at_fixed_capability", "fixed capability"),
                ),
                "$ per million tokens",
                log=True,
            ),
        ),
    ),
    Chart(
        "Volumes",
        (
            Panel("Tokens served", _s(("tokens", "tokens")), "million tokens per month", log=True),
            Panel(
                "GPU orders and shipments",
                _s(("gpu_orders", "orders"), ("gpu_shipments", "shipments")),
                "thousand GPUs per month",
                1e-3,
            ),
        ),
    ),
    Chart(
        "Capacity",
        (
            Panel(
                "Data-centre power",
                _s(("dc_capacity_mw", "energized"), ("dc_pipeline_mw", "pipeline")),
                "MW",
            ),
            Panel(
                "Utilisation and shortage",
                _s(("utilization", "utilisation"), ("compute_shortage", "shortage")),
                "% of compute",
                100.0,
            ),
        ),
    ),
    Chart(
        "Margins and profit",
        (
            Panel(
                "Operating margin",
                _s(*((f"margin_{k}", label) for label, k in LAYER_SERIES)),
                "% of revenue",
                100.0,
            ),
            Panel(
                "Profit",
                _s(*((f"profit_{k}", label) for label, k in LAYER_SERIES)),
                "$ billion per month",
                1e-9,
            ),
        ),
    ),
    Chart(
        "Startups",
        (
            Panel("Startups alive", _s(("startups_alive", "alive")), "startups"),
            Panel(
                "Entries and exits",
                _s(("startup_entries", "entries"), ("startup_exits", "exits")),
                "startups per month",
            ),
            Panel("Venture funding", _s(("vc_funding", "VC funding")), "$ million per month", 1e-6),
        ),
    ),
)


def time_axis(df: pd.DataFrame) -> tuple[pd.Series | pd.Index, bool]:
    """Calendar months if every row has a parseable ``date``, else the step index."""
    if "date" in df.columns and len(df):
        dates = pd.to_datetime(df["date"].astype(str), errors="coerce")
        if dates.notna().all():
            return dates, True
    return df.index, False


def values(df: pd.DataFrame, panel: Panel, series: Series) -> pd.Series:
    """The column as displayed: scaled, and without non-positive values on a log axis."""
    y = pd.to_numeric(df[series.column], errors="coerce") * panel.scale
    return y.where(y > 0) if panel.log else y


def draw_chart(fig: Figure, chart: Chart, df: pd.DataFrame) -> list[tuple]:
    """Draw ``chart`` as a row of panels on ``fig``; a missing column is noted, not fatal.

    Returns ``(line, panel, series)`` for every line drawn, for :class:`ChartFigure`.
    """
    axes = fig.subplots(1, len(chart.panels), squeeze=False)[0]
    x, dated = time_axis(df)
    drawn: list[tuple] = []
    for ax, panel in zip(axes, chart.panels, strict=True):
        present = [s for s in panel.series if s.column in df.columns]
        for s in present:
            (line,) = ax.plot(x, values(df, panel, s), lw=1.4, label=s.label)
            drawn.append((line, panel, s))
        if not present:
            ax.text(0.5, 0.5, "not collected", ha="center", va="center", transform=ax.transAxes)
        elif panel.log:
            ax.set_yscale("log")
            # plain numbers and no minor ticks: 10^k labels go through mathtext (~100 ms)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_locator(NullLocator())
        ax.set_ylabel(panel.unit, fontsize=8)
        ax.set_xlabel("month" if dated else "step (month)", fontsize=8)
        # ax.text, not set_title: placing a title costs a tight-bbox pass (~50 ms a panel)
        ax.text(0.0, 1.03, panel.title, transform=ax.transAxes, fontsize=8, weight="bold")
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.25, lw=0.5)
        if dated:
            ax.xaxis.set_major_locator(AutoDateLocator(minticks=2, maxticks=4))
            ax.xaxis.set_major_formatter(DateFormatter("%Y-%m"))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))
        if len(present) > 1:
            ax.legend(fontsize=7, frameon=False)
    return drawn


class ChartFigure:
    """A chart's Figure kept across frames: later frames only move the lines.

    Building axes and ticks is about half the cost of a frame; a model run keeps
    one ChartFigure per chart and calls :meth:`update` each step.
    """

    def __init__(self, chart: Chart, df: pd.DataFrame, figsize: tuple[float, float]) -> None:
        self.chart = chart
        self.fig = Figure(figsize=figsize)
        # fixed margins: a layout engine doubles the time to draw a chart
        self.fig.subplots_adjust(left=0.06, right=0.99, bottom=0.2, top=0.86, wspace=0.28)
        self.lines = draw_chart(self.fig, chart, df)

    def update(self, df: pd.DataFrame) -> Figure:
        x, _ = time_axis(df)
        for line, panel, series in self.lines:
            line.set_data(x, values(df, panel, series))
        for ax in self.fig.axes:
            ax.relim()
            ax.autoscale_view()
        return self.fig
