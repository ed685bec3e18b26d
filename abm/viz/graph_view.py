"""The supply graph as a picture: layers left to right, sized by dollars flowed.

Pure layout and matplotlib drawing, no Solara: :func:`layout` turns the model's
DiGraph (nodes with a ``layer``, edges with this step's ``value`` in $) into
positions, sizes and edges, grouping the smallest startups into one node so that
a market with hundreds of startups stays readable; :func:`draw` puts that on a
matplotlib Axes. The page in :mod:`abm.viz.app` calls both once per frame.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D

from abm.supply_graph import LAYERS

LAYER_TITLES = {
    "vendor": "GPU vendors",
    "hyperscaler": "Hyperscalers",
    "model_developer": "Model developers",
    "startup": "Startups",
    "segment": "User segments",
}
LAYER_COLOURS = {
    "vendor": "#4c72b0",
    "hyperscaler": "#dd8452",
    "model_developer": "#8172b3",
    "startup": "#55a868",
    "segment": "#937860",
}
GOOD_COLOURS = {"gpus": "#4c72b0", "compute": "#dd8452", "tokens": "#8172b3"}
GOOD_LABELS = {"gpus": "GPUs", "compute": "compute", "tokens": "tokens"}
GROUP = "startups (grouped)"  # node key of the startups too small to draw one by one

# marker area in pt^2 and line width in pt, for the smallest and the largest flow
NODE_AREA = (12.0, 900.0)
EDGE_WIDTH = (0.4, 9.0)


@dataclass
class NodeView:
    key: object  # the graph's node id, or GROUP
    layer: str
    label: str
    x: float
    y: float
    usd: float  # $ flowed through the node this step: revenue, or spend for end users
    entered: bool = False
    members: int = 1  # startups represented (GROUP only)


@dataclass
class EdgeView:
    src: object
    dst: object
    good: str
    usd: float  # $ flowed along the edge this step


@dataclass
class GraphView:
    nodes: dict[object, NodeView] = field(default_factory=dict)
    edges: list[EdgeView] = field(default_factory=list)

    @property
    def total_usd(self) -> float:
        return sum(e.usd for e in self.edges)


def node_flows(g: nx.DiGraph) -> dict[object, float]:
    """$ through each node this step: what it sold, or for pure buyers what they spent."""
    sold: dict[object, float] = defaultdict(float)
    bought: dict[object, float] = defaultdict(float)
    for u, v, d in g.edges(data=True):
        value = float(d.get("value", 0.0))
        sold[u] += value
        bought[v] += value
    return {n: max(sold[n], bought[n]) for n in g.nodes}


def layout(
    g: nx.DiGraph,
    max_startups: int = 24,
    entered: Iterable[object] = (),
) -> GraphView:
    """Place nodes in one column per layer; keep the ``max_startups`` largest startups
    and those that ``entered`` since the last frame.

    The other startups become one grouped node whose edges carry the sum of theirs,
    so the dollars on the picture add up to the dollars in the graph. Within a
    column nodes keep their id order (creation order), so they do not jump around
    from one frame to the next.
    """
    flows = node_flows(g)
    entered = set(entered)
    by_layer: dict[str, list] = {layer: [] for layer in LAYERS}
    for n, d in g.nodes(data=True):
        by_layer.setdefault(d["layer"], []).append(n)

    startups = by_layer.get("startup", [])
    keep = set(sorted(startups, key=lambda n: (-flows[n], _order(n)))[:max_startups])
    keep |= entered & set(startups)  # a newcomer sells little at first: show it anyway
    grouped = [n for n in startups if n not in keep]
    alias = {n: GROUP for n in grouped}

    view = GraphView()
    for x, layer in enumerate(LAYERS):
        column = sorted((n for n in by_layer.get(layer, []) if n not in alias), key=_order)
        slots: list[object] = list(column)
        if layer == "startup" and grouped:
            slots.append(GROUP)
        for i, n in enumerate(slots):
            y = 1.0 - (i + 1) / (len(slots) + 1)
            if n == GROUP:
                view.nodes[n] = NodeView(
                    GROUP,
                    layer,
                    f"{len(grouped)} smaller startups",
                    x,
                    y,
                    sum(flows[m] for m in grouped),
                    entered=False,
                    members=len(grouped),
                )
            else:
                d = g.nodes[n]
                view.nodes[n] = NodeView(
                    n, layer, str(d.get("label", n)), x, y, flows[n], entered=n in entered
                )

    summed: dict[tuple, float] = defaultdict(float)
    goods: dict[tuple, str] = {}
    for u, v, d in g.edges(data=True):
        key = (alias.get(u, u), alias.get(v, v))
        summed[key] += float(d.get("value", 0.0))
        goods[key] = d.get("good", "")
    view.edges = [EdgeView(u, v, goods[(u, v)], usd) for (u, v), usd in summed.items()]
    return view


def _order(n: object) -> tuple:
    # node ids are Mesa unique_ids (ints); fall back to text for anything else
    return (0, n, "") if isinstance(n, int | np.integer) else (1, 0, str(n))


def _scale(values: np.ndarray, vmax: float, lo: float, hi: float) -> np.ndarray:
    """Square-root scale: a node with 1/100 of the largest flow gets 1/10 of the size."""
    if vmax <= 0:
        return np.full(values.shape, lo)
    return lo + (hi - lo) * np.sqrt(np.clip(values / vmax, 0.0, 1.0))


def draw(
    ax: Axes,
    view: GraphView,
    title: str = "",
    exited: Mapping[object, tuple[float, float]] | None = None,
    entries: int | None = None,
    exits: int | None = None,
) -> None:
    """Draw ``view`` on ``ax``.

    ``exited`` maps startups that left since the last frame to where they were
    drawn then; they appear as red crosses. ``entries``/``exits`` are this step's
    counts, written under the startup column.
    """
    nodes = view.nodes
    # edges first, largest last so that they sit on top
    edges = sorted(view.edges, key=lambda e: e.usd)
    emax = max((e.usd for e in edges), default=0.0)
    idle = [e for e in edges if e.usd <= 0]
    busy = [e for e in edges if e.usd > 0]
    if idle:
        ax.add_collection(
            LineCollection(
                [_segment(nodes, e) for e in idle],
                linewidths=0.3,
                colors="#bbbbbb",
                alpha=0.35,
                zorder=1,
            )
        )
    if busy:
        widths = _scale(np.array([e.usd for e in busy]), emax, *EDGE_WIDTH)
        colours = [GOOD_COLOURS.get(e.good, "#888888") for e in busy]
        ax.add_collection(
            LineCollection(
                [_segment(nodes, e) for e in busy],
                linewidths=widths,
                colors=colours,
                alpha=0.45,
                capstyle="round",
                zorder=2,
            )
        )

    nv = list(nodes.values())
    usd = np.array([n.usd for n in nv])
    areas = _scale(usd, usd.max(initial=0.0), *NODE_AREA)
    ax.scatter(
        [n.x for n in nv],
        [n.y for n in nv],
        s=areas,
        c=[LAYER_COLOURS.get(n.layer, "#777777") for n in nv],
        edgecolors=["#2ca02c" if n.entered else "white" for n in nv],
        linewidths=[2.5 if n.entered else 0.8 for n in nv],
        alpha=[0.45 if n.key == GROUP else 0.95 for n in nv],
        zorder=3,
    )
    for n in nv:
        if n.layer == "startup" and n.key != GROUP:
            continue  # too many to name; their suppliers and customers tell the story
        # plain text, not annotate: an Annotation costs several times as much to draw
        ax.text(
            n.x + 0.07,
            n.y,
            f"{n.label}\n{_usd(n.usd)}",
            fontsize=7,
            va="center",
            zorder=4,
            parse_math=False,
        )
    if exited:
        pts = np.array(list(exited.values()), dtype=float)
        ax.scatter(pts[:, 0], pts[:, 1], marker="x", s=40, c="#c44e52", linewidths=1.5, zorder=5)

    for x, layer in enumerate(LAYERS):
        count = sum(1 for n in nv if n.layer == layer and n.key != GROUP)
        count += sum(n.members for n in nv if n.layer == layer and n.key == GROUP)
        ax.text(x, 1.03, f"{LAYER_TITLES[layer]} ({count})", ha="center", fontsize=8, weight="bold")
    if entries is not None or exits is not None:
        ax.text(
            LAYERS.index("startup"),
            -0.04,
            f"this step: +{entries or 0} entered, -{exits or 0} exited",
            ha="center",
            fontsize=7,
        )

    handles = [
        Line2D([], [], color=c, lw=3, alpha=0.6, label=GOOD_LABELS[good])
        for good, c in GOOD_COLOURS.items()
    ]
    handles += [
        Line2D([], [], marker="o", ls="", mfc="white", mec="#2ca02c", mew=2, label="entered"),
        Line2D([], [], marker="x", ls="", color="#c44e52", label="exited"),
    ]
    ax.legend(handles=handles, loc="lower left", fontsize=7, ncol=5, frameon=False)
    ax.set_xlim(-0.3, len(LAYERS) - 0.3)
    ax.set_ylim(-0.12, 1.12)
    ax.set_axis_off()
    if title:
        # ax.text, not set_title: placing a title costs a tight-bbox pass (~40 ms a frame)
        ax.text(0.0, 1.0, title, transform=ax.transAxes, fontsize=9, va="top", parse_math=False)


def _segment(nodes: Mapping[object, NodeView], e: EdgeView) -> list[tuple[float, float]]:
    a, b = nodes[e.src], nodes[e.dst]
    return [(a.x, a.y), (b.x, b.y)]


def _usd(x: float) -> str:
    """Dollars with a magnitude suffix: ``$1.2B``."""
    for factor, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= factor:
            return f"${x / factor:.3g}{suffix}"
    return f"${x:.3g}"
