"""The market's structure: one networkx DiGraph, seller -> buyer.

Nodes are agents (keyed by Mesa ``unique_id``) with a ``layer`` attribute. An edge
means "can trade"; every trade of a step travels along an edge and is recorded on
it (``quantity``, ``value`` in $, ``price`` = value / quantity, and the ``good``).
Recording a trade on a missing edge is an error, so the graph is the complete
picture of who traded with whom. Each step's trades are also appended to a flow
log that runs write to Parquet.
"""

from __future__ import annotations

import networkx as nx

LAYERS = ("vendor", "hyperscaler", "model_developer", "startup", "segment")
GOODS = {
    ("vendor", "hyperscaler"): "gpus",  # quantity: GPUs
    ("hyperscaler", "model_developer"): "compute",  # quantity: H100e GPU-hours
    ("model_developer", "startup"): "tokens",  # quantity: million tokens
    ("model_developer", "segment"): "tokens",
    ("startup", "segment"): "tokens",
}


class SupplyGraph:
    def __init__(self, record_flows: bool = True) -> None:
        self.g = nx.DiGraph()
        self.record_flows = record_flows
        self.step = 0
        self._log: dict[str, list] = {k: [] for k in ("step", "seller", "buyer", "good", "quantity", "value")}
        self._traded: list[tuple[int, int]] = []
        self._pending_nodes: list[int] = []
        self._pending_edges: list[tuple[int, int]] = []

    # ---------------------------------------------------------------- structure
    def add_node(self, node: int, layer: str, label: str) -> None:
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}")
        self.g.add_node(node, layer=layer, label=label, revenue=0.0, capacity=0.0)

    def remove_node(self, node: int) -> None:
        """Take a node out at the start of the next step, so that this step's trades
        stay on the graph (and a viewer can show the exit); it is flagged ``exiting``."""
        self.g.nodes[node]["exiting"] = True
        self._pending_nodes.append(node)

    def connect(self, seller: int, buyer: int) -> None:
        if self.g.has_edge(seller, buyer):
            self.g.edges[seller, buyer].pop("ending", None)  # reconnected before removal
        else:
            layers = (self.g.nodes[seller]["layer"], self.g.nodes[buyer]["layer"])
            if layers not in GOODS:
                raise ValueError(f"no trade between layers {layers}")
            self.g.add_edge(seller, buyer, good=GOODS[layers], quantity=0.0, value=0.0, price=0.0)

    def disconnect(self, seller: int, buyer: int) -> None:
        """Remove an edge at the start of the next step (this step's trade stays on it)."""
        if self.g.has_edge(seller, buyer):
            self.g.edges[seller, buyer]["ending"] = True
            self._pending_edges.append((seller, buyer))

    def nodes_in(self, layer: str) -> list[int]:
        return [n for n, d in self.g.nodes(data=True) if d["layer"] == layer]

    # ---------------------------------------------------------------- trades
    def start_step(self, step: int) -> None:
        """Clear last step's per-step flows (prices stay as last traded)."""
        self.step = step
        for u, v in self._pending_edges:
            if self.g.has_edge(u, v) and self.g.edges[u, v].get("ending"):
                self.g.remove_edge(u, v)
        self.g.remove_nodes_from(self._pending_nodes)
        self._pending_nodes, self._pending_edges = [], []
        edges = self.g.edges
        for u, v in self._traded:
            if edges.get((u, v)) is not None:
                e = edges[u, v]
                e["quantity"] = 0.0
                e["value"] = 0.0
        self._traded = []
        for _, d in self.g.nodes(data=True):
            d["revenue"] = 0.0

    def trade(self, seller: int, buyer: int, quantity: float, value: float) -> None:
        """Record a delivery of ``quantity`` for ``value`` dollars along seller -> buyer."""
        if quantity <= 0.0 and value <= 0.0:
            return
        try:
            e = self.g.edges[seller, buyer]
        except KeyError:
            raise KeyError(f"trade along a missing edge {seller} -> {buyer}") from None
        e["quantity"] += quantity
        e["value"] += value
        e["price"] = e["value"] / e["quantity"] if e["quantity"] > 0 else 0.0
        self.g.nodes[seller]["revenue"] += value
        self._traded.append((seller, buyer))
        if self.record_flows:
            log = self._log
            log["step"].append(self.step)
            log["seller"].append(seller)
            log["buyer"].append(buyer)
            log["good"].append(e["good"])
            log["quantity"].append(float(quantity))
            log["value"].append(float(value))

    def flow_table(self) -> dict[str, list]:
        """The flow log: one row per trade per step (columns of equal length)."""
        return self._log
