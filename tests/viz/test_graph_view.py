"""The supply-graph picture: layers in columns, dollars conserved, startups grouped."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from abm.supply_graph import LAYERS, SupplyGraph
from abm.viz import graph_view as gv


def market(n_startups: int) -> SupplyGraph:
    """1 vendor, 2 clouds, 2 labs, ``n_startups`` startups, 2 segments; startup i sells $(i+1)M."""
    sg = SupplyGraph(record_flows=False)
    sg.add_node(0, "vendor", "v")
    for h in (1, 2):
        sg.add_node(h, "hyperscaler", f"h{h}")
        sg.connect(0, h)
        sg.trade(0, h, 100.0, 3e9)
    for lab in (3, 4):
        sg.add_node(lab, "model_developer", f"lab{lab}")
        for h in (1, 2):
            sg.connect(h, lab)
            sg.trade(h, lab, 1e6, 5e8)
    for seg in (5, 6):
        sg.add_node(seg, "segment", f"seg{seg}")
        for lab in (3, 4):
            sg.connect(lab, seg)
            sg.trade(lab, seg, 1e3, 1e8)
    for i in range(n_startups):
        s = 100 + i
        sg.add_node(s, "startup", f"s{i}")
        sg.connect(3, s)
        sg.trade(3, s, 1.0, 0.5e6 * (i + 1))
        sg.connect(s, 5)
        sg.trade(s, 5, 1.0, 1e6 * (i + 1))
    return sg


def test_each_layer_is_one_column_left_to_right():
    view = gv.layout(market(5).g)
    for node in view.nodes.values():
        assert node.x == LAYERS.index(node.layer)


def test_two_hundred_startups_show_the_largest_and_one_group():
    view = gv.layout(market(200).g, max_startups=24)
    startups = [n for n in view.nodes.values() if n.layer == "startup"]
    assert len(startups) == 25
    group = view.nodes[gv.GROUP]
    assert group.members == 176
    # the 24 kept are the 24 largest: startups 176..199 (ids 276..299)
    kept = {n.key for n in startups if n.key != gv.GROUP}
    assert kept == set(range(276, 300))
    # the group sold what startups 0..175 sold: $1M * (1 + ... + 176)
    assert group.usd == pytest.approx(1e6 * 176 * 177 / 2)


def test_grouping_keeps_every_dollar_on_the_picture():
    g = market(200).g
    total = sum(d["value"] for _, _, d in g.edges(data=True))
    view = gv.layout(g, max_startups=10)
    assert view.total_usd == pytest.approx(total)
    # one edge lab -> group and one group -> segment carry the grouped startups' trade
    into = [e for e in view.edges if e.dst == gv.GROUP]
    out = [e for e in view.edges if e.src == gv.GROUP]
    assert [(e.src, e.usd) for e in into] == [(3, pytest.approx(0.5e6 * 190 * 191 / 2))]
    assert [(e.dst, e.usd) for e in out] == [(5, pytest.approx(1e6 * 190 * 191 / 2))]


def test_new_startups_are_drawn_one_by_one_even_when_small():
    view = gv.layout(market(200).g, max_startups=24, entered=[100, 101])
    assert view.nodes[100].entered and view.nodes[101].entered
    assert view.nodes[gv.GROUP].members == 174


def test_node_dollars_are_sales_or_for_end_users_spending():
    flows = gv.node_flows(market(2).g)
    assert flows[0] == pytest.approx(6e9)  # vendor: two clouds x $3B
    assert flows[5] == pytest.approx(2e8 + 3e6)  # segment 5 spent: two labs + startups $1M + $2M
    assert flows[6] == pytest.approx(2e8)


def test_sizes_scale_with_the_square_root_of_dollars():
    lo, hi = gv.NODE_AREA
    sizes = gv._scale(np.array([0.0, 1.0, 100.0]), 100.0, lo, hi)
    assert sizes[0] == lo and sizes[2] == hi
    assert sizes[1] == pytest.approx(lo + (hi - lo) * 0.1)


def parse(picture: str) -> ET.Element:
    return ET.fromstring(picture)  # also checks that the SVG is well-formed XML


SVG = "{http://www.w3.org/2000/svg}"


def test_the_picture_names_every_column_with_its_count():
    root = parse(gv.svg(gv.layout(market(200).g), title="t", entries=3, exits=1))
    texts = {"".join(t.itertext()) for t in root.iter(f"{SVG}text")}
    assert {"GPU vendors (1)", "Hyperscalers (2)", "Startups (200)", "User segments (2)"} <= texts
    assert "this step: +3 entered, -1 exited" in texts


def test_edge_widths_and_node_sizes_follow_dollars():
    view = gv.layout(market(3).g)
    root = parse(gv.svg(view))
    widths = [float(e.get("stroke-width")) for e in root.iter(f"{SVG}line") if e.get("x1")]
    # the widest edge is the vendor's $3B sale; the legend's lines are 4 px
    assert max(widths) == pytest.approx(gv.EDGE_WIDTH[1], abs=0.01)
    radii = sorted(float(c.get("r")) for c in root.iter(f"{SVG}circle") if c.get("fill") != "white")
    assert radii[-1] == pytest.approx(math.sqrt(gv.NODE_AREA[1]) / 2, abs=0.01)  # the vendor
    assert len(radii) == len(view.nodes)


def test_labels_are_escaped_and_exits_are_crossed():
    g = market(2).g
    g.nodes[3]["label"] = "R&D <lab>"
    root = parse(gv.svg(gv.layout(g), exited={999: (3.0, 0.5)}))
    texts = {"".join(t.itertext()) for t in root.iter(f"{SVG}text")}
    assert any(t.startswith("R&D <lab>") for t in texts)
    crosses = [p for p in root.iter(f"{SVG}path") if p.get("stroke") == "#c44e52"]
    assert len(crosses) == 2  # the exit, and the legend's sample


def test_usd_labels_use_magnitude_suffixes():
    assert gv._usd(2.72e9) == "$2.72B"
    assert gv._usd(20.5e6) == "$20.5M"
    assert gv._usd(950.0) == "$950"
