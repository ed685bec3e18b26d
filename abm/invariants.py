"""Checks of the model's accounting that hold at every step (used by tests and users).

``violations(model)`` lists every broken invariant in words; an empty list means
money is conserved, no stock is negative, goods delivered match goods received, and no
model serves faster than the hardware bound of its size (:mod:`abm.market.serving`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from abm.market.serving import SECONDS_PER_HOUR, bound_tokens_per_second

if TYPE_CHECKING:
    from abm.model import ComputeMarket

REL_TOL = 1e-6


# -- issue 11: serving
def _serving_violations(m: ComputeMarket, lab) -> list[str]:
    """A model serves no faster than the hardware bound of its size allows: both the
    throughput it planned with and the one it delivered (tokens sold per GPU-second
    of serving compute), against the bound recomputed from the active parameters of
    the model it served this month (a model trained at the month end is sized anew)."""
    bound = float(bound_tokens_per_second(lab.serving_active, m.cfg.serving)) * (1 + 1e-9)
    out = []
    if lab.served_tokens_per_second > bound:
        out.append(
            f"{lab.name}: plans {lab.served_tokens_per_second:.6g} tokens/s per GPU above "
            f"its hardware bound {bound:.6g}"
        )
    if lab.serving_gpu_hours > 0:
        delivered = lab.tokens_sold * 1e6 / (lab.serving_gpu_hours * SECONDS_PER_HOUR)
        if delivered > bound:
            out.append(
                f"{lab.name}: served {delivered:.6g} tokens/s per GPU above its hardware "
                f"bound {bound:.6g}"
            )
    return out


def violations(m: ComputeMarket) -> list[str]:
    out: list[str] = []
    tol = REL_TOL * max(m.ledger.step_volume, 1.0)
    if m.ledger.error() > tol:
        out.append(f"ledger error {m.ledger.error():.3g} $ above {tol:.3g}")
    # cash of firms and debts are never negative (sector accounts are net positions)
    for a in (*m.vendors, *m.hyperscalers, *m.labs, *m.startups):
        cash = a.cash
        if cash < -1e-6 * max(tol, 1.0):
            out.append(f"{a.name}: negative cash {cash:.3g}")
        if getattr(a, "debt", 0.0) < 0:
            out.append(f"{a.name}: negative debt")
    for v in m.vendors:
        if v.capacity < 0 or any(q < 0 for q in v.backlog.values()) or v.price <= 0:
            out.append(f"{v.name}: negative capacity, backlog or price")
    passive = m.cfg.hyperscalers.fixed_compute_price is not None
    for h in m.hyperscalers:
        arrays = {
            "fleet": h.units,
            "inventory": h.inv_units,
            "project MW": h.p_mw,
            "project cost": h.p_cost,
        }
        out += [
            f"{h.name}: negative {k}" for k, arr in arrays.items() if arr.size and arr.min() < -1e-9
        ]
        if h.energized_mw < 0 or h.price <= 0:
            out.append(f"{h.name}: negative energized MW or price")
        if h.used_mw > h.energized_mw * (1 + 1e-9) + 1e-9:
            out.append(
                f"{h.name}: GPUs installed beyond energized MW ({h.used_mw:.1f} > {h.energized_mw:.1f})"
            )
        if h.sold > h.capacity_gpu_hours * (1 + 1e-9) + 1e-6:
            out.append(
                f"{h.name}: sold {h.sold:.4g} GPU-h above capacity {h.capacity_gpu_hours:.4g}"
            )
        # the labs' hours and the parent's own together, against the fleet that ran them,
        # whichever ran first (a passive layer, fixed_compute_price, has no such bound)
        if not passive and h.sold + h.own_used > h.fleet_gpu_hours * (1 + 1e-9) + 1e-6:
            out.append(
                f"{h.name}: {h.sold + h.own_used:.4g} GPU-h used above its fleet's "
                f"{h.fleet_gpu_hours:.4g}"
            )
        if h.own_used > h.own_demand * (1 + 1e-9) + 1e-6:
            out.append(f"{h.name}: its parent's work used more than it asked")
    for lab in m.labs:
        if lab.tokens_sold > lab.token_orders * (1 + 1e-9) + 1e-9 or lab.price <= 0:
            out.append(f"{lab.name}: sold more tokens than ordered, or non-positive price")
        if (
            lab.serving_gpu_hours + lab.training_gpu_hours
            > lab.compute_received * (1 + 1e-9) + 1e-6
        ):
            out.append(f"{lab.name}: used more compute than received")
        out += _serving_violations(m, lab)
    for seg in m.segments:
        if (seg.demand < 0).any() or (seg.bought > seg.demand * (1 + 1e-12) + 1e-15).any():
            out.append(f"{seg.name}: negative demand or bought more than wanted")
    # goods: what sellers shipped equals what buyers received, along the graph
    if m.steps > 0:
        shipped = sum(v.shipped_units for v in m.vendors)
        on_edges = sum(
            d["quantity"] for u, v, d in m.supply.g.edges(data=True) if d["good"] == "gpus"
        )
        if not np.isclose(shipped, on_edges, rtol=1e-9, atol=1e-9):
            out.append(f"GPUs shipped {shipped:.6g} != GPUs on edges {on_edges:.6g}")
        sold = sum(h.sold for h in m.hyperscalers)
        received = sum(lab.compute_received for lab in m.labs)
        if not np.isclose(sold, received, rtol=1e-9, atol=1e-6):
            out.append(f"compute sold {sold:.6g} != compute received {received:.6g}")
        tokens_users = sum(seg.tokens_bought() for seg in m.segments)
        tokens_sellers = sum(
            d["quantity"]
            for u, v, d in m.supply.g.edges(data=True)
            if d["good"] == "tokens" and m.supply.g.nodes[v]["layer"] == "segment"
        )
        if not np.isclose(tokens_users, tokens_sellers, rtol=1e-9, atol=1e-6):
            out.append(
                f"tokens received by users {tokens_users:.6g} != delivered {tokens_sellers:.6g}"
            )
    return out
