"""Time-series panels: time axis, growing value axis, tick labels, blitting, PNG."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from abm import ComputeMarket
from abm.metrics import METRICS
from abm.viz import plots
from abm.viz.plots import Panel, PanelFigure, Series, TimeAxis, grown_limits


@pytest.fixture(scope="module")
def baseline_run():
    """The baseline's collected columns after 24 months, and the model."""
    model = ComputeMarket(rng=42)
    for _ in range(24):
        model.step()
    return model


def test_a_ten_year_run_is_ticked_every_other_january():
    steps, labels = TimeAxis("2023-01", 120).ticks()
    assert steps == [1, 25, 49, 73, 97]
    assert labels == ["2023", "2025", "2027", "2029", "2031"]
    assert TimeAxis("2023-01", 120).limits == (0.5, 120.5)


def test_a_short_run_is_ticked_in_months():
    assert TimeAxis("2023-01", 6).ticks() == ([1, 3, 5], ["2023-01", "2023-03", "2023-05"])
    assert TimeAxis("2024-11", 2).ticks() == ([1, 2], ["2024-11", "2024-12"])


def test_values_drop_the_initial_state_and_scale():
    panel = Panel("p", (Series("x", "x"),), "thousand", scale=1e-3, log=True)
    y = plots.values({"x": [5.0, 2000.0, 0.0, float("nan"), 3000.0]}, panel, panel.series[0])
    assert y[0] == 2.0 and y[3] == 3.0
    assert np.isnan(y[1]) and np.isnan(y[2])  # zero has no place on a log axis; nan is a gap


def test_limits_stay_while_the_data_fit_and_grow_with_headroom_when_not():
    first = grown_limits(None, [np.array([21.0, 25.5])], log=False)
    assert first == (20.0, 26.0)  # rounded out to ticks
    assert grown_limits(first, [np.array([21.0, 25.5, 25.9])], log=False) is first
    grown = grown_limits(first, [np.array([21.0, 25.5, 30.0])], log=False)
    assert grown[0] == 20.0 and grown[1] >= 30.0 + 0.25 * (30.0 - 20.0)


def test_a_quantity_that_cannot_be_negative_gets_no_negative_axis():
    assert grown_limits(None, [np.array([0.0, 0.2, 0.9])], log=False)[0] == 0.0
    assert grown_limits(None, [np.array([-0.5, 0.9])], log=False)[0] < -0.5


def test_a_log_axis_spans_at_least_a_decade_between_1_2_5_numbers():
    lo, hi = grown_limits(None, [np.array([3.1, 4.0])], log=True)
    assert hi / lo >= 10
    for bound in (lo, hi):
        mantissa = bound / 10 ** np.floor(np.log10(bound))
        assert round(mantissa, 9) in (1.0, 2.0, 5.0)
    assert lo <= 3.1 and hi >= 4.0


def test_tick_labels_are_plain_numbers():
    assert [plots.number(v) for v in (0, 0.001, 2.5, 50, 12000)] == [
        "0",
        "0.001",
        "2.5",
        "50",
        "12,000",
    ]


def test_margins_are_gross_margins_as_in_the_readme_and_the_dashboard():
    titles = [p.title for p in plots.ALL_PANELS]
    assert "Gross margin" in titles and "Gross profit" in titles
    assert not [t for t in titles if "perating" in t]


def test_every_plotted_column_is_a_collected_metric():
    plotted = {s.column for p in plots.ALL_PANELS for s in p.series}
    assert plotted <= set(METRICS)


@pytest.mark.slow
@pytest.mark.parametrize("months", [1, 6, 24])
def test_every_log_axis_has_at_least_three_labelled_ticks(baseline_run, months):
    data = {k: v[: months + 1] for k, v in baseline_run.datacollector.model_vars.items()}
    for panel in (p for p in plots.ALL_PANELS if p.log):
        fig = PanelFigure(panel, TimeAxis("2023-01", 120))
        fig.frame(data)
        labels = [t.get_text() for t in fig.ax.get_yticklabels() if t.get_text()]
        assert len(labels) >= 3, (panel.title, months, labels)


def test_a_blitted_frame_is_the_picture_a_full_draw_gives(baseline_run):
    data = baseline_run.datacollector.model_vars
    fig = PanelFigure(plots.MARKET["Margins"][1], TimeAxis("2023-01", 120))
    fig.frame({k: v[:23] for k, v in data.items()})
    draws = fig.full_draws
    blitted = fig.frame({k: v[:24] for k, v in data.items()})
    if fig.full_draws != draws:
        pytest.skip("the axis grew at this month; the blitting path was not taken")
    fig.background = None  # force a full draw with the same axes
    assert fig.frame({k: v[:24] for k, v in data.items()}) == blitted


@pytest.mark.slow
def test_most_frames_of_a_run_keep_their_axes(baseline_run):
    data = baseline_run.datacollector.model_vars
    figures = [PanelFigure(p, TimeAxis("2023-01", 120)) for p in plots.ALL_PANELS]
    for month in range(1, 25):
        for fig in figures:
            fig.frame({k: v[: month + 1] for k, v in data.items()})
    # every panel drew its axes at most in a third of the 24 frames of two years of growth
    assert max(f.full_draws for f in figures) <= 8


def test_png_is_the_canvas_pixel_for_pixel(baseline_run):
    fig = PanelFigure(plots.MARKET["Prices"][0], TimeAxis("2023-01", 120))
    png = fig.frame(baseline_run.datacollector.model_vars)
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.mode == "RGBA"
    assert image.size == fig.canvas.get_width_height(physical=True)
    assert np.array_equal(np.asarray(image), np.asarray(fig.canvas.buffer_rgba()))


def test_a_grid_is_its_panels_three_a_row(baseline_run):
    data = baseline_run.datacollector.model_vars
    axis = TimeAxis("2023-01", 120)
    panels = plots.MARKET["Prices"] + plots.MARKET["Volumes"][:1]
    alone = [PanelFigure(p, axis) for p in panels]
    pixels = [np.asarray(f.draw(data))[:, :, :3].copy() for f in alone]
    grid = Image.open(io.BytesIO(plots.grid_png([PanelFigure(p, axis) for p in panels], data)))
    grid.load()
    h, w, _ = pixels[0].shape
    assert grid.mode == "RGB" and grid.size == (3 * w, 2 * h)
    image = np.asarray(grid)
    assert np.array_equal(image[:h, w : 2 * w], pixels[1])
    assert np.array_equal(image[h:, :w], pixels[3])
    assert (image[h:, w:] == 255).all()  # the rest of the last row is blank
