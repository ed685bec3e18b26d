"""The page rendered without a browser: its widgets, its levers, Step, Reset, the run's end."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("solara")

import ipyvuetify as v  # noqa: E402
import ipywidgets as widgets  # noqa: E402
import solara  # noqa: E402

from abm import ComputeMarket, load_config  # noqa: E402
from abm.viz import app  # noqa: E402


def render(element=None):
    """A page in Solara's app layout (which builds the sidebar): its render context."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Solara's own components trip its hook checks
        _, rc = solara.render(
            solara.AppLayout(children=[element or app.Page()]), handle_error=False
        )
    return rc


@pytest.fixture
def page():
    rc = render()
    yield rc
    rc.close()


def widgets_with(root, css_class: str) -> list:
    """Every widget under ``root`` that carries ``css_class`` (Solara adds classes of its own)."""
    found, stack = [], [root]
    while stack:
        w = stack.pop()
        if css_class in (getattr(w, "class_", None) or "").split():
            found.append(w)
        stack += [c for c in getattr(w, "children", None) or [] if isinstance(c, widgets.Widget)]
    return found[::-1]


def texts(rc, css_class: str) -> list[str]:
    return [w.children[0] for w in widgets_with(rc.find(widgets.Widget).widget, css_class)]


def lever_texts(rc, key: str) -> dict[str, str]:
    """What a lever shows: its value, and the two ends of its range."""
    slug = key.replace(".", "-").replace("_", "-")
    (box,) = widgets_with(rc.find(widgets.Widget).widget, f"abm-lever-{slug}")
    return {
        part: widgets_with(box, f"abm-lever-{part}")[0].children[0]
        for part in ("value", "min", "max")
    }


def lever_slider(rc, key: str) -> v.Slider:
    slug = key.replace(".", "-").replace("_", "-")
    (box,) = widgets_with(rc.find(widgets.Widget).widget, f"abm-lever-{slug}")
    return next(c for c in box.children if isinstance(c, v.Slider))


def click(rc, label: str) -> None:
    rc.find(v.Btn, children=[label]).widget.click()


def figures(rc) -> list[bytes]:
    return [bytes(w.value) for w in rc.find(widgets.Image).widgets]


@pytest.mark.slow
def test_tabs_have_names(page):
    assert [t.children[0] for t in page.find(v.Tab).widgets] == list(app.TABS)
    assert app.TABS == ("Market", "Supply graph and startups")


@pytest.mark.slow
def test_the_controls_are_mesas(page):
    assert [b.children[0] for b in page.find(v.Btn).widgets] == ["Reset", "▶", "Step"]
    assert texts(page, "abm-position") == ["Step: 0 of 120"]


@pytest.mark.slow
def test_every_lever_shows_its_value_unit_and_range(page):
    assert lever_texts(page, "end_users.price_elasticity") == {
        "value": "1.10",  # the within-model elasticity of the baseline since issue 11
        "min": "0.30",
        "max": "3.00",
    }
    assert lever_texts(page, "datacenters.lead_time_multiplier")["value"] == "1.00 × baseline"
    assert lever_texts(page, "end_users.simulated_users") == {
        "value": "10,000 users",
        "min": "1,000 users",
        "max": "1,000,000 users",  # the large scenario's population fits on the slider
    }
    assert lever_texts(page, "simulation.steps")["value"] == "120 months"
    assert lever_texts(page, "play_interval") == {
        "value": "100 ms",
        "min": "0 ms",
        "max": "1,000 ms",
    }


@pytest.mark.slow
def test_step_advances_the_model_and_redraws_every_figure(page):
    before = figures(page)
    assert len(before) == 1  # the market tab: prices, volumes, capacity, margins in one image
    click(page, "Step")
    click(page, "Step")
    assert texts(page, "abm-position") == ["Step: 2 of 120"]
    after = figures(page)
    assert all(a != b for a, b in zip(after, before, strict=True))
    assert texts(page, "abm-summary") == [
        "Scenario baseline, seed 42, step 2 of 120 (2023-02); levers moved from the scenario: none"
    ]


@pytest.mark.slow
def test_a_moved_lever_is_pending_until_reset_applies_it(page):
    frontier = load_config().model_developers.frontier_count
    click(page, "Step")
    lever_slider(page, "model_developers.frontier_count").v_model = frontier + 2
    assert lever_texts(page, "model_developers.frontier_count")["value"] == (
        f"{frontier + 2} (pending)"
    )
    assert texts(page, "abm-pending") == ["1 pending change: Reset applies it"]
    assert texts(page, "abm-position") == ["Step: 1 of 120"]  # nothing applied yet

    click(page, "Reset")
    assert texts(page, "abm-pending") == []
    assert lever_texts(page, "model_developers.frontier_count")["value"] == str(frontier + 2)
    assert texts(page, "abm-position") == ["Step: 0 of 120"]
    assert texts(page, "abm-summary") == [
        "Scenario baseline, seed 42, step 0 of 120 (starts 2023-01); "
        f"levers moved from the scenario: frontier labs = {frontier + 2}"
    ]


@pytest.mark.slow
def test_step_stops_at_the_configured_end_and_says_so(page):
    lever_slider(page, "simulation.steps").v_model = 6
    click(page, "Reset")
    # Mesa 3.3.1 steps 4 at a time past the end: to 8 of 6
    lever_slider(page, "render_interval").v_model = 4
    click(page, "Step")
    assert texts(page, "abm-position") == ["Step: 4 of 6"]
    assert texts(page, "abm-ended") == []
    click(page, "Step")
    assert texts(page, "abm-position") == ["Step: 6 of 6"]
    (ended,) = page.find(v.Alert).widgets
    assert "The run has ended: step 6 (2023-06) is its configured end" in str(ended.children)
    assert page.find(v.Btn, children=["Step"]).widget.disabled
    assert page.find(v.Btn, children=["▶"]).widget.disabled


@pytest.mark.slow
def test_two_pages_have_two_models():
    first, second = render(), render()
    try:
        click(first, "Step")
        click(first, "Step")
        assert texts(first, "abm-position") == ["Step: 2 of 120"]
        assert texts(second, "abm-position") == ["Step: 0 of 120"]
    finally:
        first.close()
        second.close()


def test_advance_never_passes_the_configured_end():
    run = app.Run({**app.inputs_for("baseline"), "simulation.steps": 6})
    assert run.advance(4) == 4
    assert run.advance(19) == 6  # Mesa 3.3.1 would reach 23
    assert run.advance(1) == 6 and run.ended


def test_choosing_a_scenario_brings_its_lever_values():
    scenario = next(
        name
        for name, path in app.SCENARIOS.items()
        if load_config(path).end_users.price_elasticity != load_config().end_users.price_elasticity
    )
    inputs = app.inputs_for(scenario, seed="7")
    assert (
        inputs["end_users.price_elasticity"]
        == load_config(app.SCENARIOS[scenario]).end_users.price_elasticity
    )
    run = app.Run(inputs)
    assert run.moved == {}  # the scenario's own values are not overrides
    assert run.model.cfg == load_config(app.SCENARIOS[scenario])


def test_a_moved_lever_overrides_the_scenario():
    run = app.Run({**app.inputs_for("baseline"), "vc.climate": 1.8})
    assert run.moved == {"vc.climate": 1.8}
    assert run.model.cfg.vc.climate == 1.8


def test_the_seed_from_the_text_box_is_an_integer_seed():
    run = app.Run({**app.inputs_for("baseline"), "seed": " 7 "})
    plain = ComputeMarket(config=load_config(), rng=7)
    run.advance(1)
    plain.step()
    assert run.seed == 7
    assert run.model.metrics == plain.metrics
    with pytest.raises(ValueError, match="seed must be an integer, got '4.5'"):
        app.Run({**app.inputs_for("baseline"), "seed": "4.5"})


@pytest.mark.slow
def test_a_bad_seed_is_reported_on_the_page_and_the_run_kept(page):
    click(page, "Step")
    page.find(v.TextField, label="Seed (integer)").widget.v_model = "x"
    click(page, "Reset")
    (error,) = page.find(v.Alert).widgets
    assert "seed must be an integer, got 'x'" in str(error.children)
    assert texts(page, "abm-position") == ["Step: 1 of 120"]


def test_a_config_given_to_abm_viz_joins_the_scenario_menu(tmp_path):
    mine = tmp_path / "my_run.toml"
    mine.write_text(f'extends = "{app.DEFAULT_CONFIG}"\n')
    files = app.scenario_files(mine)
    assert files["baseline"] == app.DEFAULT_CONFIG
    assert files["my_run"] == mine.resolve()
    assert app.scenario_files(app.DEFAULT_CONFIG) == app.scenario_files()  # no duplicate
