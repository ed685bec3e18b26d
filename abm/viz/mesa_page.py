"""The model in Mesa's own ``SolaraViz``, for notebooks and for users who want the
stock page.

``abm viz`` serves the project's page (:mod:`abm.viz.app`), which adds what Mesa
3.3.1's ``SolaraViz`` cannot do: named tabs, lever values with units and pending
marks, Play that stops at the run's end, one model per browser session. The model
itself is a plain Mesa model and works in ``SolaraViz`` as it is: every slider maps
to a dotted constructor keyword, and the supply graph is a Solara component that
reads the model. In a notebook::

    from abm.viz.mesa_page import solaraviz_page
    solaraviz_page()
"""

from __future__ import annotations

from typing import Any

import solara
from mesa.visualization import SolaraViz, make_plot_component

from abm import runs
from abm.model import ComputeMarket
from abm.viz import graph_view

MODEL_PARAMS: dict[str, Any] = {
    "rng": {"type": "InputText", "value": "42", "label": "Seed"},
    "end_users.price_elasticity": {
        "type": "SliderFloat",
        "value": 1.5,
        "label": "Price elasticity of task demand",
        "min": 0.3,
        "max": 4.0,
        "step": 0.1,
    },
    "datacenters.lead_time_multiplier": {
        "type": "SliderFloat",
        "value": 1.0,
        "label": "Data-centre lead time (x baseline)",
        "min": 0.25,
        "max": 3.0,
        "step": 0.25,
    },
}


@solara.component
def SupplyGraphView(model: ComputeMarket):
    """The supply graph of the current step (node area and edge width follow $ traded)."""
    from mesa.visualization.utils import update_counter

    update_counter.get()  # redraw after every step
    view = graph_view.layout(model.supply.g, max_startups=12, entered=[])
    solara.HTML(tag="div", unsafe_innerHTML=graph_view.svg(view, title=f"{model.date}"))


def solaraviz_page(model: ComputeMarket | None = None) -> Any:
    """Mesa's ``SolaraViz`` page on a model (a fresh baseline by default)."""
    model = model if model is not None else runs.build_model(seed=42)
    return SolaraViz(
        model,
        components=[
            SupplyGraphView,
            make_plot_component(["compute_price", "token_price"]),
            make_plot_component(["utilization", "compute_shortage"]),
            make_plot_component(["margin_vendor", "margin_hyperscalers", "margin_model_devs"]),
        ],
        model_params=MODEL_PARAMS,
        name="AI compute market (Mesa SolaraViz)",
    )
