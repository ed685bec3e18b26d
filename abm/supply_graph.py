"""The market's structure: one networkx DiGraph, seller -> buyer.

Nodes are agents (keyed by Mesa ``unique_id``) with a ``layer`` attribute. An edge
means "can trade"; every trade of a step travels along an edge and is recorded on
it (``quantity``, ``value`` in $, ``price`` = value / quantity, and the ``good``).
Recording a trade on a missing edge is an error, so the graph is the complete
picture of who traded with whom. Each step's trades are also appended to a flow
log that runs write to Parquet.
"""

from __future__ import annotations

import operator

import networkx as nx
import numpy as np

LAYERS = ("vendor", "hyperscaler", "model_developer", "startup", "segment")
GOODS = {
    ("vendor", "hyperscaler"): "gpus",  # quantity: GPUs
    ("hyperscaler", "model_developer"): "compute",  # quantity: H100e GPU-hours
    ("model_developer", "startup"): "tokens",  # quantity: million tokens
    ("model_developer", "segment"): "tokens",
    ("startup", "segment"): "tokens",
}


class SupplyGraph:
    """The supply graph and this step's trades on it.

    Trades are checked against the edges when they are made and written onto the
    edges when someone looks (:attr:`g`), so a step with thousands of trades costs
    array appends, not thousands of dictionary updates nobody reads.
    """

    def __init__(self, record_flows: bool = True) -> None:
        self._g = nx.DiGraph()
        self.record_flows = record_flows
        self.step = 0
        self._log: dict[str, list] = {
            k: [] for k in ("step", "seller", "buyer", "good", "quantity", "value")
        }
        self._pending: list[tuple[list, list, list, list]] = []  # trades not yet on the edges
        self._written: list[tuple[int, int]] = []  # edges carrying this step's trades
        self._pending_nodes: list[int] = []
        self._pending_edges: list[tuple[int, int]] = []
        self._revenue_written = False  # a flush wrote revenue onto nodes since the last reset

    @property
    def g(self) -> nx.DiGraph:
        """The networkx graph, with this step's trades on its edges (``quantity``,
        ``value``, ``price``) and nodes (``revenue``)."""
        self._flush()
        return self._g

    # ---------------------------------------------------------------- structure
    def add_node(self, node: int, layer: str, label: str) -> None:
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}")
        self._g.add_node(node, layer=layer, label=label, revenue=0.0, capacity=0.0)

    def remove_node(self, node: int) -> None:
        """Take a node out at the start of the next step, so that this step's trades
        stay on the graph (and a viewer can show the exit); it is flagged ``exiting``."""
        self._g.nodes[node]["exiting"] = True
        self._pending_nodes.append(node)

    def connect(self, seller: int, buyer: int) -> None:
        g = self._g
        if g.has_edge(seller, buyer):
            g.edges[seller, buyer].pop("ending", None)  # reconnected before removal
        else:
            layers = (g.nodes[seller]["layer"], g.nodes[buyer]["layer"])
            if layers not in GOODS:
                raise ValueError(f"no trade between layers {layers}")
            g.add_edge(seller, buyer, good=GOODS[layers], quantity=0.0, value=0.0, price=0.0)

    def disconnect(self, seller: int, buyer: int) -> None:
        """Remove an edge at the start of the next step (this step's trade stays on it)."""
        if self._g.has_edge(seller, buyer):
            self._g.edges[seller, buyer]["ending"] = True
            self._pending_edges.append((seller, buyer))

    # ---------------------------------------------------------------- trades
    def start_step(self, step: int) -> None:
        """Clear last step's flows (prices stay as last traded); apply exits and switches."""
        self.step = step
        g = self._g
        adj = g._adj  # networkx's own dict of dicts: the fast path for hot loops
        for u, v in self._written:
            e = adj.get(u, {}).get(v)
            if e is not None:
                e["quantity"] = 0.0
                e["value"] = 0.0
        self._written = []
        self._pending = []
        for u, v in self._pending_edges:
            e = adj.get(u, {}).get(v)
            if e is not None and e.get("ending"):
                g.remove_edge(u, v)
        g.remove_nodes_from(self._pending_nodes)
        self._pending_nodes, self._pending_edges = [], []
        if self._revenue_written:  # else every node's revenue is still 0 (nobody looked)
            for d in g._node.values():
                d["revenue"] = 0.0
            self._revenue_written = False

    def require_edges(self, sellers, buyers) -> None:
        """Raise ``KeyError`` naming the first pair that has no seller -> buyer edge."""
        adj = self._g._adj
        # the common case, every edge present, checked at C speed (no Python loop body);
        # a seller with no node, a missing edge or unequal lengths: the loop below names it
        if len(sellers) == len(buyers):
            try:
                if all(map(operator.contains, map(adj.__getitem__, sellers), buyers)):
                    return
            except KeyError:
                pass
        for u, v in zip(sellers, buyers, strict=True):
            if v not in adj.get(u, {}):
                raise KeyError(f"trade along a missing edge {u} -> {v}")

    def require_edge(self, seller: int, buyer: int) -> None:
        """:meth:`require_edges` for one pair (the common case: no lists to build)."""
        if buyer not in self._g._adj.get(seller, {}):
            raise KeyError(f"trade along a missing edge {seller} -> {buyer}")

    def trade(self, seller: int, buyer: int, quantity: float, value: float) -> None:
        """Record a delivery of ``quantity`` for ``value`` dollars along seller -> buyer.

        The one-trade case of :meth:`trade_many`, the same record, without its arrays
        (settlement makes about a hundred single trades a month)."""
        self.require_edge(seller, buyer)
        quantity, value = float(quantity), float(value)
        self._pending.append(([seller], [buyer], [quantity], [value]))
        if self.record_flows:
            log = self._log
            log["step"].append(self.step)
            log["seller"].append(seller)
            log["buyer"].append(buyer)
            log["good"].append(self._g._adj[seller][buyer]["good"])
            log["quantity"].append(quantity)
            log["value"].append(value)

    def trade_many(self, sellers, buyers, quantities, values, edges_checked: bool = False) -> None:
        """Record parallel sequences of deliveries (quantity, $ value) along seller -> buyer.
        ``edges_checked``: the caller has just run :meth:`require_edges` on these pairs."""
        adj = self._g._adj
        sellers, buyers = list(sellers), list(buyers)
        quantities = np.asarray(quantities, dtype=float).tolist()
        values = np.asarray(values, dtype=float).tolist()
        if not len(sellers) == len(buyers) == len(quantities) == len(values):
            raise ValueError(
                f"trade_many: {len(sellers)} sellers, {len(buyers)} buyers, "
                f"{len(quantities)} quantities, {len(values)} values"
            )
        if not edges_checked:
            self.require_edges(sellers, buyers)
        self._pending.append((sellers, buyers, quantities, values))
        if self.record_flows:
            goods = [adj[u][v]["good"] for u, v in zip(sellers, buyers, strict=True)]
            log = self._log
            log["step"].extend([self.step] * len(quantities))
            log["seller"].extend(sellers)
            log["buyer"].extend(buyers)
            log["good"].extend(goods)
            log["quantity"].extend(quantities)
            log["value"].extend(values)

    def _flush(self) -> None:
        adj, nodes = self._g._adj, self._g._node
        for sellers, buyers, quantities, values in self._pending:
            for u, v, q, x in zip(sellers, buyers, quantities, values, strict=True):
                e = adj[u][v]
                e["quantity"] += q
                e["value"] += x
                e["price"] = e["value"] / e["quantity"] if e["quantity"] > 0 else 0.0
                nodes[u]["revenue"] += x
            self._written.extend(zip(sellers, buyers, strict=True))
            self._revenue_written = True
        self._pending = []

    def flow_table(self) -> dict[str, list]:
        """The flow log: one row per trade per step (columns of equal length)."""
        return self._log
