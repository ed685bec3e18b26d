"""The supply graph as a picture: layers left to right, sized by dollars flowed.

No Solara: :func:`layout` turns the model's DiGraph (nodes with a ``layer``,
edges with this step's ``value`` in $) into positions, sizes and edges, grouping
the smallest startups into one node so that a market with hundreds of startups
stays readable; :func:`svg` draws that as an SVG picture (in a notebook:
``IPython.display.SVG(svg(layout(model.supply.g)))``). The page in
:mod:`abm.viz.app` calls both once per frame.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import networkx as nx
import numpy as np

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

# The picture's size in its own pixels; the page scales it to the width of the page.
SIZE = (1100, 500)
# node area in px^2 and edge width in px, for the smallest and the largest flow
NODE_AREA = (25.0, 1750.0)
EDGE_WIDTH = (0.55, 12.5)


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


class _Canvas:
    """Data coordinates (one unit per layer across, 0-1 up) to the picture's pixels."""

    def __init__(self, width: float, height: float) -> None:
        self.width = width
        self.height = height
        self.x0, self.x1 = -0.3, len(LAYERS) - 0.3
        self.y0, self.y1 = -0.12, 1.12

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return (
            (x - self.x0) / (self.x1 - self.x0) * self.width,
            (self.y1 - y) / (self.y1 - self.y0) * self.height,
        )


def svg(
    view: GraphView,
    title: str = "",
    exited: Mapping[object, tuple[float, float]] | None = None,
    entries: int | None = None,
    exits: int | None = None,
    size: tuple[int, int] = SIZE,
) -> str:
    """``view`` as an SVG picture.

    ``exited`` maps startups that left since the last frame to where they were
    drawn then; they appear as red crosses. ``entries``/``exits`` are this step's
    counts, written under the startup column. Written directly rather than through
    matplotlib: the picture changes completely every frame, and this takes a few
    milliseconds where a matplotlib figure took about a hundred.
    """
    c = _Canvas(*size)
    nodes = view.nodes
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{c.width}" height="{c.height}" '
        f'viewBox="0 0 {c.width} {c.height}" font-family="DejaVu Sans, Arial, sans-serif">',
        '<rect width="100%" height="100%" fill="white"/>',
    ]

    # edges first, largest last so that they sit on top
    edges = sorted(view.edges, key=lambda e: e.usd)
    emax = max((e.usd for e in edges), default=0.0)
    busy = [e for e in edges if e.usd > 0]
    widths = _scale(np.array([e.usd for e in busy]), emax, *EDGE_WIDTH)
    out.append('<g stroke="#bbbbbb" stroke-width="0.4" stroke-opacity="0.35">')
    out += [_line(c, nodes, e) for e in edges if e.usd <= 0]
    out.append('</g><g stroke-opacity="0.45" stroke-linecap="round">')
    out += [
        _line(c, nodes, e, GOOD_COLOURS.get(e.good, "#888888"), w)
        for e, w in zip(busy, widths, strict=True)
    ]
    out.append("</g>")

    nv = list(nodes.values())
    usd = np.array([n.usd for n in nv])
    areas = _scale(usd, usd.max(initial=0.0), *NODE_AREA)
    radii = np.sqrt(areas) / 2
    for n, r in zip(nv, radii, strict=True):
        x, y = c.xy(n.x, n.y)
        ring, ring_width = ("#2ca02c", 2.5) if n.entered else ("white", 0.8)
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.2f}" '
            f'fill="{LAYER_COLOURS.get(n.layer, "#777777")}" '
            f'fill-opacity="{0.45 if n.key == GROUP else 0.95}" '
            f'stroke="{ring}" stroke-width="{ring_width}"/>'
        )
    for n, r in zip(nv, radii, strict=True):
        if n.layer == "startup" and n.key != GROUP:
            continue  # too many to name; their suppliers and customers tell the story
        x, y = c.xy(n.x, n.y)
        x += r + 4  # beside the node, whatever its size
        out.append(
            f'<text x="{x:.1f}" y="{y - 2:.1f}" font-size="9.5">{escape(n.label)}'
            f'<tspan x="{x:.1f}" dy="10.5">{escape(_usd(n.usd))}</tspan></text>'
        )
    for x, y in (exited or {}).values():
        px, py = c.xy(x, y)
        out.append(
            f'<path d="M{px - 4:.1f},{py - 4:.1f}l8,8m0,-8l-8,8" '
            'stroke="#c44e52" stroke-width="1.6"/>'
        )

    out.append('<g font-size="11" font-weight="bold" text-anchor="middle">')
    for i, layer in enumerate(LAYERS):
        count = sum(n.members if n.key == GROUP else 1 for n in nv if n.layer == layer)
        x, y = c.xy(i, 1.03)
        out.append(f'<text x="{x:.1f}" y="{y:.1f}">{LAYER_TITLES[layer]} ({count})</text>')
    out.append("</g>")
    if entries is not None or exits is not None:
        x, y = c.xy(LAYERS.index("startup"), -0.05)
        out.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="9.5" text-anchor="middle">'
            f"this step: +{entries or 0} entered, -{exits or 0} exited</text>"
        )
    out.append(_legend(c))
    if title:
        out.append(f'<text x="4" y="13" font-size="12">{escape(title)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _line(
    c: _Canvas,
    nodes: Mapping[object, NodeView],
    e: EdgeView,
    colour: str | None = None,
    width: float | None = None,
) -> str:
    (x1, y1), (x2, y2) = c.xy(nodes[e.src].x, nodes[e.src].y), c.xy(nodes[e.dst].x, nodes[e.dst].y)
    style = "" if colour is None else f' stroke="{colour}" stroke-width="{width:.2f}"'
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"{style}/>'


def _legend(c: _Canvas) -> str:
    """What the colours and marks mean, along the bottom left."""
    y = c.height - 10
    out = ['<g font-size="9.5">']
    x = 8.0
    for good, colour in GOOD_COLOURS.items():
        out.append(
            f'<line x1="{x}" y1="{y - 3}" x2="{x + 18}" y2="{y - 3}" stroke="{colour}" '
            'stroke-width="4" stroke-opacity="0.6"/>'
        )
        out.append(f'<text x="{x + 23}" y="{y}">{GOOD_LABELS[good]}</text>')
        x += 80
    out.append(
        f'<circle cx="{x + 5}" cy="{y - 3}" r="4" fill="white" stroke="#2ca02c" stroke-width="2"/>'
        f'<text x="{x + 14}" y="{y}">entered</text>'
    )
    x += 80
    out.append(
        f'<path d="M{x + 1},{y - 7}l8,8m0,-8l-8,8" stroke="#c44e52" stroke-width="1.6"/>'
        f'<text x="{x + 14}" y="{y}">exited</text>'
    )
    out.append("</g>")
    return "".join(out)


def _usd(x: float) -> str:
    """Dollars with a magnitude suffix: ``$1.2B``."""
    for factor, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= factor:
            return f"${x / factor:.3g}{suffix}"
    return f"${x:.3g}"
