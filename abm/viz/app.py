"""The interactive page: Mesa's SolaraViz around the compute market.

Serve it with ``abm viz [CONFIG]`` (or ``solara run abm/viz/app.py``), or show it
in a notebook cell::

    from abm.viz.app import page
    page

The sidebar holds Step / Play / Reset and the levers; Reset rebuilds the model
from them. The main area shows the supply graph (layers left to right, node
area and edge width by dollars flowed this month) and time series with units
on every axis. The config the page starts from comes from the environment
variable ``ABM_VIZ_CONFIG`` (set by ``abm viz``), else ``configs/baseline.toml``.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any

import matplotlib
import solara
from matplotlib.figure import Figure

from abm.config import CONFIG_DIR, DEFAULT_CONFIG, Config, config_with_overrides, load_config
from abm.model import ComputeMarket
from abm.viz import graph_view, plots
from abm.viz.cli import CONFIG_ENV

with warnings.catch_warnings():
    # Mesa 3.3.1's ComponentsView trips Solara's rules-of-hooks check as it is defined
    warnings.filterwarnings("ignore", r".*ComponentsView: `use_state` found", UserWarning)
    from mesa.visualization import SolaraViz
    from mesa.visualization import solara_viz as _solara_viz
    from mesa.visualization.utils import update_counter

# SVG with text left as text: the browser sets the type, which makes a frame
# 2-3x faster to produce than PNG or SVG with glyphs as paths.
matplotlib.rcParams["svg.fonttype"] = "none"

MAX_STARTUPS_DRAWN = 24  # the rest of the startups are drawn as one grouped node
GRAPH_SIZE = (11.0, 5.8)  # inches; the browser scales the SVG to the width of the page
CHART_SIZE = (11.0, 2.4)


# --------------------------------------------------------------------------- scenarios
def scenario_files(start: Path | None = None) -> dict[str, Path]:
    """Scenario name -> TOML file: baseline, configs/scenarios/*.toml, and ``start``."""
    files = {"baseline": DEFAULT_CONFIG}
    files.update({p.stem: p for p in sorted((CONFIG_DIR / "scenarios").glob("*.toml"))})
    if start is not None:
        start = start.resolve()
        if start not in {p.resolve() for p in files.values()}:
            files[start.stem if start.stem not in files else str(start)] = start
    return files


def _start_file() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG).resolve()


SCENARIOS = scenario_files(_start_file())
START_SCENARIO = next(k for k, p in SCENARIOS.items() if p.resolve() == _start_file())
START_CONFIG = load_config(SCENARIOS[START_SCENARIO])


def config_value(cfg: Config, dotted: str) -> Any:
    value: Any = cfg
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


# --------------------------------------------------------------------------- levers
# dotted config key -> (label, kind, min, max, step); the value shown first is the
# start config's. Ranges widen to include it.
LEVERS: dict[str, tuple[str, str, float, float, float]] = {
    "end_users.price_elasticity": ("Price elasticity of demand", "float", 0.3, 3.0, 0.05),
    "datacenters.lead_time_multiplier": ("Data-centre lead time (x)", "float", 0.25, 3.0, 0.05),
    "model_developers.frontier_count": ("Frontier labs", "int", 1, 8, 1),
    "model_developers.open_weight_gap": (
        "Open-weight gap (log10 compute)",
        "float",
        0.0,
        2.0,
        0.05,
    ),
    "vc.climate": ("VC climate (1 = normal)", "float", 0.0, 2.5, 0.05),
    "gpu.perf_gain_per_generation": ("GPU perf gain per generation (x)", "float", 1.0, 5.0, 0.1),
    "end_users.simulated_users": ("Simulated users", "int", 1000, 50000, 1000),
}


def model_params(start: Config = START_CONFIG) -> dict[str, dict]:
    """SolaraViz inputs; each key is a keyword of :class:`VizMarket`."""
    params: dict[str, dict] = {
        "scenario": {
            "type": "Select",
            "value": START_SCENARIO,
            "values": list(SCENARIOS),
            "label": "Scenario",
        },
        "seed": {"type": "InputText", "value": "42", "label": "Seed (integer)"},
    }
    for key, (label, kind, lo, hi, step) in LEVERS.items():
        value = config_value(start, key)
        params[key] = {
            "type": "SliderInt" if kind == "int" else "SliderFloat",
            "label": label,
            "value": value,
            "min": min(lo, value),
            "max": max(hi, value),
            "step": step,
        }
    return params


class VizMarket(ComputeMarket):
    """The market as the page builds it: a scenario name, a seed and lever values.

    Mesa's Reset calls ``VizMarket(**params)`` with every input. A lever still at
    the start config's value leaves the chosen scenario's own value in force; a
    lever that was moved overrides it. The run stops at the configured horizon.
    """

    # Mesa's SolaraViz accepts unknown inputs only through a var-keyword named exactly ``kwargs``
    def __init__(self, scenario: str = START_SCENARIO, seed: Any = 42, **kwargs: Any) -> None:
        try:
            seed = int(str(seed).strip())  # Solara's text input hands over a string
        except ValueError:
            raise ValueError(f"seed must be an integer, got {seed!r}") from None
        cfg = load_config(SCENARIOS[scenario])
        moved = {
            k: v
            for k, v in kwargs.items()
            if k not in LEVERS or not _same(v, config_value(START_CONFIG, k))
        }
        super().__init__(
            config=config_with_overrides(cfg, moved, f"levers of {scenario}"), rng=seed
        )
        self.scenario = scenario
        self.levers_moved = moved
        self.running = self.steps < self.cfg.simulation.steps

    def step(self) -> None:
        super().step()
        self.running = self.steps < self.cfg.simulation.steps


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


# --------------------------------------------------------------------------- components
def supply_graph_figure(model: ComputeMarket, memory: dict) -> Figure:
    """The supply graph of this step; ``memory`` carries the previous frame, to show exits."""
    g = model.supply.g
    same_run = memory.get("model") is model and memory.get("step", -1) < model.steps
    since = memory.get("step", model.steps - 1) if same_run else model.steps - 1
    entered = [s.unique_id for s in model.startups if s.born > since and model.steps > 0]
    exited = {n: xy for n, xy in memory.get("drawn", {}).items() if n not in g} if same_run else {}
    view = graph_view.layout(g, max_startups=MAX_STARTUPS_DRAWN, entered=entered)
    fig = Figure(figsize=GRAPH_SIZE)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    metrics = model.metrics
    graph_view.draw(
        ax,
        view,
        title=(
            f"{model.date} (step {model.steps}): ${view.total_usd / 1e9:,.1f}B traded. "
            "Edge width ∝ √($ traded this month), "
            "node area ∝ √($ sold, or spent by users)"
        ),
        exited=exited,
        entries=int(metrics["startup_entries"]),
        exits=int(metrics["startup_exits"]),
    )
    memory.update(
        model=model,
        step=model.steps,
        drawn={
            n.key: (n.x, n.y)
            for n in view.nodes.values()
            if n.layer == "startup" and n.key != graph_view.GROUP
        },
    )
    return fig


def run_summary(model: ComputeMarket) -> str:
    """One line: scenario, seed, month, and the levers moved away from the scenario."""
    moved = getattr(model, "levers_moved", {})
    levers = ", ".join(f"{LEVERS[k][0].lower()} = {v:g}" for k, v in moved.items() if k in LEVERS)
    return (
        f"Scenario {getattr(model, 'scenario', model.cfg.name)}, seed {model.seed_value}, "
        f"{model.date} (step {model.steps} of {model.cfg.simulation.steps}); "
        f"levers moved: {levers or 'none'}"
    )


@solara.component
def SupplyGraph(model: ComputeMarket):
    """The supply graph, redrawn every step, under a line saying what is running."""
    update_counter.get()
    memory = solara.use_memo(dict, [])  # the previous frame, per browser session
    fig = solara.use_memo(lambda: supply_graph_figure(model, memory), [model, model.steps])
    with solara.Column(gap="0px"):
        solara.Text(run_summary(model), style={"font-size": "13px", "padding": "2px 8px"})
        solara.FigureMatplotlib(fig, format="svg", dependencies=[model, model.steps])


def chart_component(chart: plots.Chart):
    """A page component drawing one :class:`~abm.viz.plots.Chart` from the DataCollector."""

    @solara.component
    def ChartView(model: ComputeMarket):
        update_counter.get()
        # one Figure per model run; each step only moves its lines
        figure = solara.use_memo(
            lambda: plots.ChartFigure(chart, _frame(model), CHART_SIZE), [model]
        )
        fig = solara.use_memo(lambda: figure.update(_frame(model)), [model, model.steps])
        solara.FigureMatplotlib(fig, format="svg", dependencies=[model, model.steps])

    ChartView.name = chart.name  # what reacton shows in tracebacks
    return ChartView


def _frame(model: ComputeMarket):
    return model.datacollector.get_model_vars_dataframe()


CHARTS = {c.name: chart_component(c) for c in plots.CHARTS}
# Only the open tab is drawn, so the first holds what a frame must show: a step
# and its redraw take about 0.6 s on a 2-core machine (0.9 s to the browser).
COMPONENTS = [
    (SupplyGraph, 0),
    (CHARTS["Prices"], 0),
    (CHARTS["Capacity"], 0),
    (CHARTS["Startups"], 0),
    (CHARTS["Volumes"], 1),
    (CHARTS["Margins and profit"], 1),
]
_GRAPH_PAGE_SIZE = sum(1 for _, page in COMPONENTS if page == 0)


def grid_layout(num_components: int) -> list[dict]:
    """Mesa's grid (12 columns, rows of 30 px plus 10 px gaps), one component a row.

    Mesa lays components out two to a row, too narrow for the supply graph's five
    layers or a chart's three panels. It tells this function only how many
    components a tab has; the graph's tab is the one with ``_GRAPH_PAGE_SIZE``.
    """
    heights = [8] * num_components
    if num_components == _GRAPH_PAGE_SIZE:
        heights[0] = 14
    ys = [sum(heights[:i]) for i in range(num_components)]
    return [
        {"i": i, "w": 12, "h": h, "x": 0, "y": y, "moved": False}
        for i, (h, y) in enumerate(zip(heights, ys, strict=True))
    ]


# Mesa 3.3.1 has no parameter for the initial grid; SolaraViz calls this module function.
_solara_viz.make_initial_grid_layout = grid_layout


def make_page(model: ComputeMarket | None = None):
    """A SolaraViz page around ``model`` (default: a fresh :class:`VizMarket`)."""
    return SolaraViz(
        VizMarket() if model is None else model,
        components=COMPONENTS,
        model_params=model_params(),
        name="AI compute market",
    )


model = VizMarket()
page = make_page(model)
