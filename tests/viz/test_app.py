"""The page rendered without a browser: its widgets, its levers, Step and Reset."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("solara")
pytest.importorskip("mesa.visualization")

import ipyvuetify as v  # noqa: E402
import ipywidgets as widgets  # noqa: E402
import solara  # noqa: E402
from mesa.visualization.solara_viz import _check_model_params  # noqa: E402

from abm import ComputeMarket, load_config  # noqa: E402
from abm.viz import app, plots  # noqa: E402


@pytest.fixture
def page():
    """A fresh page in Solara's app layout (which builds the sidebar), and its model."""
    model = app.VizMarket()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Mesa's own components trip Solara's hook checks
        _, rc = solara.render(solara.AppLayout(children=[app.make_page(model)]), handle_error=False)
    yield rc, model
    rc.close()


def images(rc) -> dict[str, bytes]:
    """The page's figures as SVG bytes, keyed by a text each one contains."""
    out = {}
    for w in rc.find(widgets.Image).widgets:
        svg = bytes(w.value)
        key = next(
            (
                k
                for k in (b"Hyperscalers (", b"GPU price", b"Data-centre power", b"Startups alive")
                if k in svg
            ),
            b"?",
        )
        out[key.decode()] = svg
    return out


def test_page_has_the_controls_the_levers_and_four_figures(page):
    rc, _ = page
    assert [b.children[0] for b in rc.find(v.Btn).widgets] == ["Reset", "▶", "Step"]
    sliders = {s.label for s in rc.find(v.Slider).widgets}
    assert {label for label, *_ in app.LEVERS.values()} <= sliders
    (scenario,) = rc.find(v.Select, label="Scenario").widgets
    assert "baseline" in scenario.items
    assert rc.find(v.TextField, label="Seed (integer)").widget.v_model == "42"
    assert set(images(rc)) == {"Hyperscalers (", "GPU price", "Data-centre power", "Startups alive"}
    assert [t.children[0] for t in rc.find(v.Tab).widgets] == ["Page 0", "Page 1"]


def test_step_advances_the_model_and_redraws_every_figure(page):
    rc, model = page
    before = images(rc)
    for _ in range(2):
        rc.find(v.Btn, children=["Step"]).widget.click()
    assert model.steps == 2
    rc.find(v.Html, children=["Step: 2"]).assert_single()
    after = images(rc)
    assert all(after[k] != before[k] for k in before)
    assert b"(step 2)" in after["Hyperscalers ("]


def test_reset_rebuilds_the_model_from_the_moved_lever(page):
    rc, model = page
    hosts = model.cfg.model_developers.open_weight_hosts
    frontier = model.cfg.model_developers.frontier_count
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert f"Model developers ({frontier + hosts})".encode() in images(rc)["Hyperscalers ("]
    rc.find(v.Slider, label="Frontier labs").widget.v_model = frontier + 2
    rc.find(v.Btn, children=["Reset"]).widget.click()
    rc.find(v.Html, children=["Step: 0"]).assert_single()
    graph = images(rc)["Hyperscalers ("]
    assert f"Model developers ({frontier + 2 + hosts})".encode() in graph
    assert model.steps == 1  # the old model is left alone; Reset made a new one
    rc.find(
        v.Html,
        children=[
            "Scenario baseline, seed 42, 2022-12 (step 0 of 120); levers moved: frontier labs = 6"
        ],
    ).assert_single()


def test_every_input_is_a_constructor_keyword():
    params = app.model_params()
    _check_model_params(app.VizMarket.__init__, params)  # what SolaraViz checks on first render
    model = app.VizMarket(**{k: p["value"] for k, p in params.items()})
    assert model.levers_moved == {}
    assert model.cfg == app.START_CONFIG


def test_the_seed_from_the_text_box_is_an_integer_seed():
    viz = app.VizMarket(seed=" 7 ")
    plain = ComputeMarket(config=load_config(), rng=7)
    viz.step()
    plain.step()
    assert viz.seed_value == 7
    assert viz.metrics == plain.metrics
    with pytest.raises(ValueError, match="seed must be an integer"):
        app.VizMarket(seed="4.5")


def test_an_unmoved_lever_leaves_the_scenario_value_in_force(tmp_path, monkeypatch):
    scenario = tmp_path / "cold_vc.toml"
    scenario.write_text(f'extends = "{app.SCENARIOS["baseline"]}"\n[vc]\nclimate = 0.5\n')
    monkeypatch.setitem(app.SCENARIOS, "cold_vc", scenario)
    start = app.START_CONFIG.vc.climate
    assert start != 0.5
    unmoved = app.VizMarket(scenario="cold_vc", **{"vc.climate": start})
    assert unmoved.cfg.vc.climate == 0.5 and unmoved.levers_moved == {}
    moved = app.VizMarket(scenario="cold_vc", **{"vc.climate": 1.8})
    assert moved.cfg.vc.climate == 1.8 and moved.levers_moved == {"vc.climate": 1.8}


def test_play_stops_at_the_configured_horizon():
    model = app.VizMarket(**{"simulation.steps": 2})
    model.step()
    assert model.running
    model.step()
    assert not model.running


def test_every_plotted_column_is_a_collected_metric():
    from abm.metrics import METRICS

    plotted = {s.column for c in plots.CHARTS for p in c.panels for s in p.series}
    assert plotted <= set(METRICS)


def test_a_config_given_to_abm_viz_joins_the_scenario_menu(tmp_path):
    mine = tmp_path / "my_run.toml"
    mine.write_text(f'extends = "{app.DEFAULT_CONFIG}"\n')
    files = app.scenario_files(mine)
    assert files["baseline"] == app.DEFAULT_CONFIG
    assert files["my_run"] == mine.resolve()
    assert app.scenario_files(app.DEFAULT_CONFIG) == app.scenario_files()  # no duplicate
