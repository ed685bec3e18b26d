"""The interactive page: step, play and reset the market, move its levers, watch it.

Serve it with ``abm viz [CONFIG]`` (or ``solara run abm/viz/app.py``), or show it
in a notebook cell::

    from abm.viz.app import page
    page

It looks and works like Mesa's SolaraViz: a sidebar with Reset / Play / Step, the
play and render intervals, the model's parameters and the step counter; tabs of
figures in the main area. It is built from Solara components rather than from
``SolaraViz`` itself, because Mesa 3.3.1's page cannot give tabs names, show a
slider's value, unit and range, lay out figures without gaps, or stop Play at the
model's end (with a render interval above 1 it steps past it).

Each browser session builds its own model (:func:`build_model`, inside
:func:`Page`), so two visitors never move each other's run. The config the page
starts from comes from the environment variable ``ABM_VIZ_CONFIG`` (set by
``abm viz``), else ``configs/baseline.toml``.
"""

from __future__ import annotations

import math
import os
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import reacton.core
import solara
import solara.lab

from abm import runs
from abm.config import CONFIG_DIR, DEFAULT_CONFIG, Config, load_config
from abm.model import ComputeMarket
from abm.viz import graph_view, plots
from abm.viz.cli import CONFIG_ENV

# Solara warns on every page load over plain http from any host name but the
# literal "localhost" (127.0.0.1 included) that its session cookie falls back to
# SameSite=Lax. That matters only for a page embedded in another site's iframe,
# which this page is not; the cookie works as it is.
warnings.filterwarnings(
    "ignore",
    message=r"Cookies with samesite=none require https",
    category=UserWarning,
    module=r"solara\.server\.starlette",
)

MAX_STARTUPS_DRAWN = 24  # the rest of the startups are drawn as one grouped node
PLAY_INTERVAL_MS = 100  # Mesa's default pause between frames while playing
PENDING_COLOUR = "#e65100"  # a lever moved but not yet applied by Reset
TABS = ("Market", "Supply graph and startups")
MARKET_PANELS = tuple(p for row in plots.MARKET.values() for p in row)  # a row each


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


def config_value(cfg: Config, dotted: str) -> Any:
    value: Any = cfg
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


# --------------------------------------------------------------------------- levers
@dataclass(frozen=True)
class Lever:
    """A config key the sidebar sets with a slider."""

    key: str  # dotted config key
    label: str
    unit: str
    lo: float
    hi: float
    step: float
    digits: int  # decimals shown; 0 for a whole number
    unit_of_one: str | None = None  # the unit after a 1, where it differs ("1 step")

    def show(self, value: float) -> str:
        text = f"{int(round(value)):,}" if self.digits == 0 else f"{value:.{self.digits}f}"
        unit = self.unit_of_one if self.unit_of_one is not None and text == "1" else self.unit
        return f"{text} {unit}".rstrip()

    def cast(self, value: Any) -> float | int:
        return int(round(value)) if self.digits == 0 else round(float(value), 10)

    def widened(self, values: list[float]) -> Lever:
        """The same lever with a range that includes every value in ``values``."""
        return replace(self, lo=min(self.lo, *values), hi=max(self.hi, *values))


_LEVERS = (
    Lever("end_users.price_elasticity", "Price elasticity of demand", "", 0.3, 3.0, 0.05, 2),
    Lever(
        "datacenters.lead_time_multiplier", "Data-centre lead time", "× baseline", 0.25, 3, 0.05, 2
    ),
    Lever("model_developers.frontier_count", "Frontier labs", "", 1, 8, 1, 0),
    Lever(
        "model_developers.open_weight_gap", "Open-weight gap", "log10 compute", 0.0, 2.0, 0.05, 2
    ),
    Lever("vc.climate", "VC climate", "× normal", 0.0, 2.5, 0.05, 2),
    Lever(
        "gpu.perf_gain_per_generation", "GPU gain per generation", "× performance", 1.0, 5.0, 0.1, 1
    ),
    Lever("end_users.simulated_users", "Simulated users", "users", 1000, 50000, 1000, 0),
    Lever("simulation.steps", "Run length", "months", 6, 240, 6, 0),
)


# Mesa's two controls of Play, shown the same way
PLAY_INTERVAL = Lever("play_interval", "Play interval", "ms", 0, 1000, 50, 0)
RENDER_INTERVAL = Lever(
    "render_interval", "Render interval", "steps a frame", 1, 24, 1, 0, "step a frame"
)


def _scenario_configs() -> dict[str, Config]:
    return {name: load_config(path) for name, path in SCENARIOS.items()}


# every scenario's value fits on its slider
LEVERS: dict[str, Lever] = {
    lv.key: lv.widened([config_value(c, lv.key) for c in _scenario_configs().values()])
    for lv in _LEVERS
}


def inputs_for(scenario: str, seed: str = "42") -> dict[str, Any]:
    """The sidebar's inputs for a scenario: its name, a seed, and its value of every lever."""
    cfg = load_config(SCENARIOS[scenario])
    return {
        "scenario": scenario,
        "seed": seed,
        **{k: lv.cast(config_value(cfg, k)) for k, lv in LEVERS.items()},
    }


def parse_seed(text: Any) -> int:
    """Solara's text box hands over a string; the model wants an integer seed."""
    try:
        return int(str(text).strip())
    except ValueError:
        raise ValueError(f"seed must be an integer, got {text!r}") from None


def moved_levers(cfg: Config, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The levers in ``inputs`` set away from ``cfg``'s values: the overrides to apply."""
    return {
        k: inputs[k] for k in LEVERS if k in inputs and not _same(inputs[k], config_value(cfg, k))
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def build_model(scenario: str, seed: int, overrides: Mapping[str, Any]) -> ComputeMarket:
    """The one place the page builds a model: a scenario file, a seed, dotted overrides,
    through the project's one run path (:func:`abm.runs.build_model`)."""
    return runs.build_model(config=SCENARIOS[scenario], seed=seed, overrides=dict(overrides))


class Run:
    """One model run on the page: the model, the inputs it was built from, its figures.

    ``lock`` is held while the model steps and while a figure reads its data, so a
    figure never sees a step half collected (Play steps in a thread of its own).
    """

    def __init__(self, inputs: Mapping[str, Any]) -> None:
        self.inputs = dict(inputs)
        self.scenario = str(inputs["scenario"])
        self.seed = parse_seed(inputs["seed"])
        self.moved = moved_levers(load_config(SCENARIOS[self.scenario]), inputs)
        self.model = build_model(self.scenario, self.seed, self.moved)
        self.horizon = self.model.cfg.simulation.steps
        self.axis = plots.TimeAxis(self.model.cfg.simulation.start, self.horizon)
        self.lock = threading.Lock()
        self.panels: dict[plots.Panel, plots.PanelFigure] = {}  # made when first shown
        self.graph_memory: dict = {}  # the supply graph's previous frame, to show exits

    @property
    def ended(self) -> bool:
        return self.model.steps >= self.horizon

    def advance(self, steps: int) -> int:
        """Step the model up to ``steps`` times, never past its configured end."""
        with self.lock:
            n = max(0, min(steps, self.horizon - self.model.steps))
            for _ in range(n):
                self.model.step()
            return self.model.steps

    def panels_png(self, panels: tuple[plots.Panel, ...]) -> bytes:
        """``panels`` three a row as one PNG, for the data collected so far."""
        with self.lock:
            for panel in panels:
                if panel not in self.panels:
                    self.panels[panel] = plots.PanelFigure(panel, self.axis)
            figures = [self.panels[p] for p in panels]
            return plots.grid_png(figures, self.model.datacollector.model_vars)

    def graph_svg(self) -> bytes:
        with self.lock:
            return supply_graph_svg(self.model, self.graph_memory).encode()

    def when(self) -> str:
        """``step 8 of 120 (2023-08)``; before the first step, the month the run starts."""
        m = self.model
        if m.steps == 0:
            return f"step 0 of {self.horizon} (starts {m.cfg.simulation.start})"
        return f"step {m.steps} of {self.horizon} ({m.date})"

    def summary(self) -> str:
        """One line: scenario, seed, month, and the levers moved away from the scenario."""
        levers = ", ".join(
            f"{LEVERS[k].label.lower()} = {LEVERS[k].show(v)}" for k, v in self.moved.items()
        )
        return (
            f"Scenario {self.scenario}, seed {self.seed}, {self.when()}; "
            f"levers moved from the scenario: {levers or 'none'}"
        )


# --------------------------------------------------------------------------- figures
def supply_graph_svg(model: ComputeMarket, memory: dict) -> str:
    """The supply graph of this step; ``memory`` carries the previous frame, to show exits."""
    g = model.supply.g
    same_run = memory.get("model") is model and memory.get("step", -1) < model.steps
    since = memory.get("step", model.steps - 1) if same_run else model.steps - 1
    entered = [s.unique_id for s in model.startups if s.born > since and model.steps > 0]
    exited = {n: xy for n, xy in memory.get("drawn", {}).items() if n not in g} if same_run else {}
    view = graph_view.layout(g, max_startups=MAX_STARTUPS_DRAWN, entered=entered)
    metrics = model.metrics
    picture = graph_view.svg(
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
    return picture


# --------------------------------------------------------------------------- components
@solara.component
def PanelGrid(run: Run, panels: tuple[plots.Panel, ...], step: int):
    """Time-series panels, three a row; redrawn when the run or its step changes."""
    png = solara.use_memo(lambda: run.panels_png(panels), [run, step])
    solara.Image(png, format="png", width="100%", classes=["abm-figure"])


@solara.component
def SupplyGraph(run: Run, step: int):
    svg = solara.use_memo(run.graph_svg, [run, step])
    solara.Image(svg, format="svg+xml", width="100%", classes=["abm-figure"])


@solara.component
def LeverSlider(
    lever: Lever,
    value: float,
    on_value: Callable[[Any], None],
    applied: float | None = None,
):
    """A slider with its value and unit, and its range under it.

    With ``applied`` (the value the running model was built with), a value that
    differs from it is marked pending until Reset applies it.
    """
    pending = applied is not None and not _same(value, applied)
    colour = PENDING_COLOUR if pending else "inherit"
    slug = lever.key.replace(".", "-").replace("_", "-")
    with solara.Column(gap="0px", classes=["abm-lever", f"abm-lever-{slug}"]):
        with solara.Row(justify="space-between", style={"font-size": "13px"}):
            solara.Text(lever.label)
            solara.Text(
                lever.show(value) + (" (pending)" if pending else ""),
                classes=["abm-lever-value"],
                style={"font-weight": "bold", "color": colour},
            )
        solara.v.Slider(
            v_model=value,
            on_v_model=lambda v: on_value(lever.cast(v)),
            min=lever.lo,
            max=lever.hi,
            step=lever.step,
            dense=True,
            hide_details=True,
            color=PENDING_COLOUR if pending else "primary",
        )
        with solara.Row(justify="space-between", style={"font-size": "11px", "color": "#777"}):
            solara.Text(lever.show(lever.lo), classes=["abm-lever-min"])
            if pending:
                solara.Text(f"running: {lever.show(applied)}", style={"color": colour})
            solara.Text(lever.show(lever.hi), classes=["abm-lever-max"])


@solara.component
def Parameters(inputs: solara.Reactive[dict], run: solara.Reactive[Run]):
    """Scenario, seed and levers; what differs from the running model is marked pending."""
    values = inputs.value
    applied = run.value.inputs

    def set_input(key: str, value: Any) -> None:
        inputs.value = {**inputs.value, key: value}

    def choose_scenario(name: str) -> None:
        # a scenario brings its own lever values; the seed stays
        inputs.value = inputs_for(name, seed=inputs.value["seed"])

    def mark(key: str) -> str:
        return " (pending)" if not _same(values[key], applied[key]) else ""

    solara.Select(
        "Scenario" + mark("scenario"),
        value=values["scenario"],
        values=list(SCENARIOS),
        on_value=choose_scenario,
    )
    solara.InputText(
        "Seed (integer)" + mark("seed"),
        value=values["seed"],
        on_value=lambda v: set_input("seed", v),
        continuous_update=True,  # marked pending as it is typed
    )
    for key, lever in LEVERS.items():
        LeverSlider(lever, values[key], lambda v, key=key: set_input(key, v), applied[key])


def pending_changes(inputs: Mapping[str, Any], applied: Mapping[str, Any]) -> list[str]:
    return [k for k in inputs if not _same(inputs[k], applied.get(k))]


# The page's state lives in reactives created by Page, one set per browser session.
# Only the components that read a reactive's value re-render when it changes: a
# step redraws the figures, the counter and the buttons, not the levers.
@dataclass(frozen=True)
class Session:
    run: solara.Reactive[Run]
    inputs: solara.Reactive[dict]  # the sidebar's inputs, applied to a new run by Reset
    shown: solara.Reactive[int]  # the step on screen; set after every advance
    playing: solara.Reactive[bool]
    error: solara.Reactive[str | None]
    render_context: Any  # reacton's, to render once for all the components a change concerns

    def show(self, step: int) -> None:
        """Put ``step`` on screen: one render pass, not one per component that shows it."""
        with self.render_context:
            self.shown.value = step


@solara.component
def Controls(s: Session):
    """Mesa's controls: play and render intervals, Reset, Play/Pause, Step."""
    play_interval = solara.use_reactive(PLAY_INTERVAL_MS)
    render_interval = solara.use_reactive(1)
    loop = solara.use_ref(None)  # the Play loop that is current
    run = s.run.value
    s.shown.value  # noqa: B018 -- redraw the buttons when the run reaches its end

    def step() -> None:
        s.show(s.run.value.advance(render_interval.value))

    def play() -> None:
        # as Mesa's Play: a frame, a pause, until paused or at the configured end. A
        # quick Pause and Play starts a new loop; the old one sees it and stops.
        me = loop.current = object()
        while s.playing.value and loop.current is me and not s.run.value.ended:
            step()
            time.sleep(play_interval.value / 1000)
        if loop.current is me and s.run.value.ended:
            s.playing.value = False  # shows ▶, disabled

    solara.lab.use_task(play, dependencies=[s.playing.value], prefer_threaded=True)

    def reset() -> None:
        s.playing.value = False
        try:
            new = Run(s.inputs.value)
        except ValueError as exc:  # a ConfigError or a seed that is not an integer
            s.error.value = str(exc)
            return
        s.error.value = None
        with s.render_context:  # a step under way in Play goes on with the old run, unseen
            s.run.value = new
            s.shown.value = 0

    LeverSlider(PLAY_INTERVAL, play_interval.value, play_interval.set)
    LeverSlider(RENDER_INTERVAL, render_interval.value, render_interval.set)
    with solara.Row(justify="space-between"):
        solara.Button("Reset", color="primary", on_click=reset)
        solara.Button(
            "❚❚" if s.playing.value else "▶",
            color="primary",
            on_click=lambda: s.playing.set(not s.playing.value),
            disabled=run.ended and not s.playing.value,
        )
        solara.Button("Step", color="primary", on_click=step, disabled=s.playing.value or run.ended)
    pending = pending_changes(s.inputs.value, run.inputs)
    if pending:
        n = len(pending)
        solara.Text(
            f"{n} pending change{'s' * (n > 1)}: Reset applies {'them' if n > 1 else 'it'}",
            classes=["abm-pending"],
            style={"color": PENDING_COLOUR, "font-weight": "bold"},
        )
    if s.error.value:
        solara.Error(s.error.value)


@solara.component
def Information(s: Session):
    run = s.run.value
    s.shown.value  # noqa: B018 -- re-render after every step
    m = run.model
    solara.Text(f"Step: {m.steps} of {run.horizon}", classes=["abm-position"])
    solara.Text(f"Month: {m.date}" if m.steps else f"Starts in {m.cfg.simulation.start}")
    if run.ended:
        solara.Info(
            f"The run has ended: step {run.horizon} ({m.date}) is its configured end "
            f"(simulation.steps = {run.horizon}). Reset starts a new run.",
            dense=True,
            classes=["abm-ended"],
        )


@solara.component
def Summary(s: Session):
    s.shown.value  # noqa: B018 -- re-render after every step
    solara.Text(s.run.value.summary(), classes=["abm-summary"], style={"font-size": "13px"})


@solara.component
def MarketTab(s: Session):
    PanelGrid(s.run.value, MARKET_PANELS, s.shown.value)


@solara.component
def GraphTab(s: Session):
    SupplyGraph(s.run.value, s.shown.value)
    PanelGrid(s.run.value, plots.STARTUPS, s.shown.value)


@solara.component
def Page():
    """The page for one browser session: its own run, inputs and controls."""
    first = solara.use_memo(lambda: Run(inputs_for(START_SCENARIO)), [])
    s = Session(
        run=solara.use_reactive(first),
        inputs=solara.use_reactive(first.inputs),
        shown=solara.use_reactive(0),
        playing=solara.use_reactive(False),
        error=solara.use_reactive(None),
        render_context=reacton.core.get_render_context(),
    )
    tab = solara.use_reactive(0)

    solara.Title("AI compute market")
    with solara.AppBar():
        solara.AppBarTitle("AI compute market")
    with solara.Sidebar(), solara.Column():
        with solara.Card("Controls"):
            Controls(s)
        with solara.Card("Information"):
            Information(s)
        with solara.Card("Model parameters"):
            Parameters(s.inputs, s.run)
    Summary(s)
    with solara.lab.Tabs(value=tab, lazy=True):
        with solara.lab.Tab(TABS[0]):
            MarketTab(s)
        with solara.lab.Tab(TABS[1]):
            GraphTab(s)


page = Page()
