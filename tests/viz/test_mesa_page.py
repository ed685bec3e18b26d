"""The model in Mesa's stock SolaraViz: it renders and Mesa's Step moves the model."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("solara")

import ipyvuetify as v  # noqa: E402
import solara  # noqa: E402

from abm import runs  # noqa: E402
from abm.viz.mesa_page import solaraviz_page  # noqa: E402


@pytest.mark.slow
def test_mesas_solaraviz_runs_the_model_and_its_step_button_advances_it():
    model = runs.build_model(seed=3, overrides={"end_users.simulated_users": 400})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Solara's own components trip its hook checks
        _, rc = solara.render(
            solara.AppLayout(children=[solaraviz_page(model)]), handle_error=False
        )
    try:
        rc.find(v.Btn, children=["Step"]).widget.click()
        assert model.steps == 1
        assert model.metrics["date"] == "2023-01"
        assert model.metrics["compute_price"] > 0
    finally:
        rc.close()
