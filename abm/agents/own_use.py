"""Own-use buyers: GPUs bought from the vendors for fleets outside the modelled market.

In 2023 the big four and the neoclouds were not the vendors' only customers: about a
fifth of the H100s that Omdia could name went to owner-operators whose fleets serve their
own products, not the labs and users the model simulates (Tencent, Baidu, Alibaba,
ByteDance: ~125k; Tesla: ~15k; of ~650k named), and in 2024 about a third (ByteDance and
Tencent ~230k Hopper each, Tesla and xAI ~200k, of ~1.7M named). They compete with the
clouds for the vendors' allocated output, so the vendors' revenue counts them while the
clouds' fleets do not.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from abm.agents.firm import Firm
from abm.agents.hyperscaler import logistic_budget, vendor_split
from abm.config import OwnUseConfig

SECTOR = "own_use_owners"  # the ledger sector that funds them (their parents' cash flow)


class OwnUseBuyers(Firm):
    """The own-use buyers taken together: one GPU budget, spent each month at the
    vendors' prices. Their fleet is theirs; it never rents to the modelled labs."""

    layer = "hyperscaler"  # a GPU buyer on the supply graph

    def __init__(self, model, cfg: OwnUseConfig) -> None:
        super().__init__(model, "own-use-buyers")
        self.cfg = cfg
        self.kind = "own_use"
        self.orders_h100e = 0.0  # H100e ordered this month
        self.received_h100e = 0.0  # H100e delivered this month
        self.spend = 0.0  # $ paid to the vendors this month
        self.fleet_h100e = 0.0  # H100e received since January 2023

    def budget(self, months: float) -> float:
        """$ a month they spend on GPUs: a logistic path from ``initial_budget_per_year``
        toward ``budget_ceiling_per_year``, growing at first ``budget_growth_per_year``
        (the same form as the big four's parents' own AI budget, 3.3.16)."""
        c = self.cfg
        return logistic_budget(
            c.initial_budget_per_year, c.budget_ceiling_per_year, c.budget_growth_per_year, months
        )

    def gpus_wanted(self, months: float, price_per_h100e, on_order: float, lead: float):
        """H100e they order this month at ``price_per_h100e`` (a number or candidates).

        The month's budget buys ``budget / price`` H100e (a capital budget spent at the
        going price: unit-elastic demand, as the parents' own workloads buy compute,
        3.3.16). Facing a queue of ``lead`` months at the vendors they keep that many
        months of purchases on order besides this month's (the supply line: Sterman 1989),
        less what is on order already (``on_order``, H100e)::

            orders = max(budget (1 + lead) / price - on_order, 0)

        so their deliveries follow their budget however long the queue, as a cloud's do
        (its fleet aimed for looks a planning horizon ahead)."""
        price = np.asarray(price_per_h100e, dtype=float)
        monthly = self.budget(months) / np.maximum(price, 1e-12)
        wanted = np.where(price > 0, np.maximum(monthly * (1.0 + lead) - on_order, 0.0), 0.0)
        return wanted if price.ndim else float(wanted)

    def on_order(self, vendors: list) -> float:
        """H100e on order with the vendors."""
        return sum(v.backlog.get(self.unique_id, 0.0) for v in vendors)

    def start_step(self) -> None:
        self.orders_h100e = self.received_h100e = self.spend = 0.0

    def order(
        self, months: float, vendors: list, split: np.ndarray, prices: np.ndarray, lead: float
    ) -> None:
        """Book this month's orders with the vendors, split as the clouds split theirs
        (:func:`abm.agents.hyperscaler.vendor_split`: price, ecosystem, queue), against
        the queue as it stood before the month's orders (``split`` was read then too)."""
        want = self.gpus_wanted(months, float(split @ prices), self.on_order(vendors), lead)
        for v, share in zip(vendors, split, strict=True):
            v.take_order(self.unique_id, want * share)
        self.orders_h100e = want

    def receive_gpus(self, units: float, perf: float, kw: float, unit_value: float) -> None:
        """Parts delivered go straight into their own fleet (their power is their own)."""
        self.received_h100e += units * perf
        self.fleet_h100e += units * perf

    def bought_gpus(self, value: float) -> None:
        self.spend += value

    def fund(self, value: float) -> None:
        """Their owners pay in what the delivered GPUs cost (capital spending)."""
        if value > 0:
            self.model.ledger.transfer(SECTOR, self.unique_id, value, "parent_funding")

    def firm_row(self) -> dict[str, Any]:
        return {
            **super().firm_row(),
            "kind": self.kind,
            "orders_h100e": self.orders_h100e,
            "fleet_h100e": self.fleet_h100e,
        }


def found_own_use(model) -> OwnUseBuyers | None:
    """The own-use buyers, if configured, with their share of the vendors' January 2023
    order book: ``initial_backlog_months`` of their month-0 orders, taken out of the big
    four's booked orders (the book stays ``initial_backlog_months`` of output)."""
    cfg = model.cfg.own_use
    if cfg.initial_budget_per_year <= 0:
        return None
    buyer = OwnUseBuyers(model, cfg)
    buyer.open_account(SECTOR, 0.0)
    prices = np.array([v.price_per_h100e for v in model.vendors])
    split = vendor_split(model.vendors, prices, model.cfg.hyperscalers)
    for v, share in zip(model.vendors, split, strict=True):
        model.supply.connect(v.unique_id, buyer.unique_id)
        total = v.backlog_h100e
        if total <= 0:
            continue
        monthly = buyer.budget(0.0) / float(prices @ split)
        own = min(v.initial_backlog_months * monthly * share, total)
        scale = (total - own) / total
        for b in list(v.backlog):
            v.backlog[b] *= scale
        v.backlog[buyer.unique_id] = own
    return buyer
