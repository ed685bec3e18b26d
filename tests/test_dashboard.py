"""The run dashboard (abm/dashboard.py, the dashboard.png of `abm run`): every line is
inside its axes' limits, no legend covers an axes, and no line is drawn pale.

Issue 13: the model-developer margin was cut off below -0.4 and the data-centre
legend covered the utilisation line. (Kept with the notebook tests, whose figures
follow the same rules.)
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib.colors import to_rgba

from abm import ComputeMarket
from abm.dashboard import LAYERS, dashboard_figure, plot_dashboard

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def metrics():
    model = ComputeMarket(rng=42)
    model.run(120)
    return model.datacollector.get_model_vars_dataframe()


@pytest.fixture(scope="module")
def drawn(metrics):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = dashboard_figure(metrics, "baseline (seed 42)")
    FigureCanvasAgg(fig).draw()  # lays the figure out as savefig does
    return fig


def all_axes(fig):
    return [ax for sf in fig.subfigs for ax in sf.axes]


@pytest.mark.slow
def test_the_margin_axis_shows_every_margin_of_the_run(metrics, drawn):
    margins = metrics.iloc[1:][[f"margin_{layer}" for layer in LAYERS]].to_numpy()
    assert margins.min() < -0.25  # the case of the issue: a month far below 0 (-0.32 in seed 42)
    (ax,) = [a for a in all_axes(drawn) if a.get_title() == "Gross margin by layer"]
    lo, hi = ax.get_ylim()
    assert lo < margins.min() and hi > margins.max()


def test_every_line_lies_within_its_axes_limits(drawn):
    for ax in all_axes(drawn):
        lo, hi = sorted(ax.get_ylim())
        for line in ax.get_lines():
            y = np.asarray(line.get_ydata(), dtype=float)
            y = y[np.isfinite(y)]
            if ax.get_yscale() == "log":
                y = y[y > 0]
            assert y.size == 0 or (lo <= y.min() and y.max() <= hi), (
                f"{ax.get_title()!r}: {line.get_label()!r} leaves the axes ({y.min()}..{y.max()} "
                f"outside {lo}..{hi})"
            )


def test_no_legend_covers_an_axes(drawn):
    legends = [leg for sf in drawn.subfigs for leg in sf.legends]
    legends += [a.get_legend() for a in all_axes(drawn) if a.get_legend() is not None]
    assert len(legends) == 6  # one per panel
    boxes = [a.get_window_extent() for a in all_axes(drawn)]
    for leg in legends:
        box = leg.get_window_extent()
        assert not any(box.overlaps(frame) for frame in boxes), [
            t.get_text() for t in leg.get_texts()
        ]


def test_no_line_is_pale(drawn):
    for ax in all_axes(drawn):
        for line in ax.get_lines():
            r, g, b, a = to_rgba(line.get_color(), line.get_alpha())
            luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
            assert a == 1.0 and luminance < 0.8, (ax.get_title(), line.get_label())


@pytest.mark.slow
def test_plot_dashboard_writes_a_png(metrics, tmp_path):
    path = plot_dashboard(metrics, tmp_path / "dashboard.png", "t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
