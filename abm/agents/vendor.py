"""The GPU vendor: sells its generations (the next ramping up beside the established one),
packaging-limited, priced on mature cost from derived demand or backlog."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from abm.agents.firm import Firm
from abm.config import GPUConfig, VendorConfig
from abm.market.pricing import adjust_to_excess_demand, best_response
from abm.market.rationing import pro_rata
from abm.market.settlement import pay, repay_debt, spend


class GPUVendor(Firm):
    """A GPU maker. Quantities it books are in H100-equivalents (H100e) of
    performance; it ships whole parts of this month's mix of generations (the established
    one and, while it ramps up, the next: :meth:`set_output_mix`), each worth ``perf``
    H100e, at ``price`` $ per part."""

    layer = "vendor"

    def __init__(self, model, cfg: VendorConfig, gpu: GPUConfig) -> None:
        super().__init__(model, cfg.name)
        self.cfg = cfg
        self.gpu = gpu
        self.generation = 0
        self.generation_name = gpu.first_generation
        # the established generation at maturity (H100e, $ and kW per part) and the month
        # its ramp began (None: mature from the start, as the first generation)
        self.gen_perf = gpu.first_generation_perf * cfg.perf_multiplier
        self.gen_cost = gpu.first_generation_unit_cost * cfg.cost_multiplier
        self.gen_kw = gpu.first_generation_power_kw
        self.gen_ramp_start: float | None = None
        self.next_share = 0.0  # the next generation's share of this month's parts
        # this month's output, a mix of the two while the next generation ramps up
        self.perf = self.gen_perf  # H100e per part
        self.unit_cost = self.gen_cost  # $ per part: its cost of goods
        self.mature_cost = self.gen_cost  # $ per part at mature yields: what it prices on
        self.power_kw = self.gen_kw  # kW per part, all-in
        self.price = cfg.initial_price  # $ per part
        self.capacity = cfg.capacity_units_per_month  # parts per month
        self.backlog: dict[int, float] = {}  # buyer unique_id -> H100e on order
        # the last delivery_lead_months of bookings, not yet due to ship (one dict per month)
        self.booked: deque[dict[int, float]] = deque()
        # this step
        self.orders_h100e = 0.0
        self.shipped_units = 0.0
        self.shipped_established_units = 0.0  # of them, parts of the established generation
        self.shipped_h100e = 0.0  # at the performance of the parts shipped
        self.revenue = 0.0
        self.cogs = 0.0
        self.initial_backlog_months = cfg.initial_backlog_months

    # ---------------------------------------------------------------- quantities
    @property
    def backlog_h100e(self) -> float:
        return float(sum(self.backlog.values()))

    @property
    def capacity_h100e(self) -> float:
        return self.capacity * self.perf

    @property
    def backlog_months(self) -> float:
        return self.backlog_h100e / self.capacity_h100e if self.capacity_h100e > 0 else 0.0

    @property
    def price_per_h100e(self) -> float:
        return self.price / self.perf

    # ---------------------------------------------------------------- step 2: orders
    def take_order(self, buyer: int, h100e: float) -> None:
        if h100e > 0:
            self.backlog[buyer] = self.backlog.get(buyer, 0.0) + h100e
            self.orders_h100e += h100e
            if self.booked:
                self.booked[-1][buyer] = self.booked[-1].get(buyer, 0.0) + h100e

    def book_initial_backlog(self, buyers: list[int], shares: np.ndarray) -> None:
        """Orders already booked at the start: ``initial_backlog_months`` of output,
        split among ``buyers`` by ``shares``."""
        total = self.cfg.initial_backlog_months * self.capacity_h100e
        for b, s in zip(buyers, shares, strict=True):
            self.backlog[b] = total * s

    def start_step(self) -> None:
        self.orders_h100e = self.shipped_units = self.shipped_h100e = 0.0
        self.shipped_established_units = 0.0
        self.revenue = self.cogs = 0.0
        lead = self.gpu.delivery_lead_months
        if lead > 0:
            self.booked.append({})  # this month's bookings
            while len(self.booked) > lead:
                self.booked.popleft()  # booked delivery_lead_months ago: now due

    # ---------------------------------------------------------------- step 3: supply
    def allocate_output(self) -> list[tuple[int, float]]:
        """Ship this month's output, pro rata to each buyer's backlog when short.

        Orders booked less than ``delivery_lead_months`` ago are not yet due.
        Returns (buyer, parts) pairs; the backlog falls by what was shipped."""
        buyers = [b for b, q in self.backlog.items() if q > 0]
        if not buyers:
            return []
        requests = np.array(
            [max(self.backlog[b] - sum(m.get(b, 0.0) for m in self.booked), 0.0) for b in buyers]
        )
        shipped = pro_rata(requests, self.capacity_h100e)
        out = []
        for b, q in zip(buyers, shipped, strict=True):
            left = self.backlog[b] - q
            self.backlog[b] = left if left > 1e-9 * max(q, 1.0) else 0.0
            if q > 0:
                out.append((b, q / self.perf))
        return out

    def set_price(self, ratios: np.ndarray | None = None, orders: np.ndarray | None = None) -> None:
        """Post next month's price.

        Profit seeking (the default): ``orders[c]`` is what the clouds would order (H100e)
        at ``ratios[c]`` times today's price -- the vendor reads its derived demand from
        its customers' investment rule. It sells at most what it can book (a month of
        output plus its target backlog) and best-responds. When the queue is already
        longer than that, or when profit seeking is off, the price follows the backlog
        against its target (tatonnement). With no orders at any price and a short
        queue, there is nothing to learn and the price stays. Never below the mature cost
        times ``1 + floor_markup`` (during a ramp the launch premium can put the cost of
        goods above it: the vendor prices on the long-run cost).
        """
        g = self.gpu
        floor = self.mature_cost * (1.0 + self.cfg.floor_markup)
        room = self.capacity_h100e * (1.0 + g.target_backlog_months) - self.backlog_h100e
        if self.cfg.profit_seeking and orders is not None and room > 0:
            if orders.max() <= 0:
                self.price = max(self.price, floor)
                return
            new = best_response(
                np.array([self.price_per_h100e]),
                np.array([self.mature_cost / self.perf]),
                ratios,
                np.minimum(orders, room)[None, :],
                g.price_adjustment,
                floor / self.perf,
            )
            self.price = float(new[0]) * self.perf
            return
        excess = self.backlog_months / g.target_backlog_months - 1.0
        self.price = float(
            adjust_to_excess_demand(
                self.price, excess, g.price_adjustment_speed, g.max_price_change, floor
            )
        )

    # ---------------------------------------------------------------- step 4: settle
    def sold_gpus(self, units: float, value: float) -> None:
        """Parts delivered for ``value`` $; it pays the foundry their cost of goods."""
        self.revenue += value
        self.shipped_units += units
        self.shipped_established_units += units * (1.0 - self.next_share)
        # in H100e now: a release later this month changes ``perf``, not the parts shipped
        self.shipped_h100e += units * self.perf
        cost = units * self.unit_cost
        self.cogs += cost
        pay(self.model.ledger, self, "foundry_components", cost, "foundry")

    # ---------------------------------------------------------------- step 6: lifecycle
    def pay_running_costs(self) -> None:
        """Expand packaging capacity and pay operating expenses out of cash on hand,
        then repay credit-line debt (drawn when sales did not cover the foundry's bill)."""
        ledger = self.model.ledger
        spend(ledger, self, "foundry_components", self.expand_capacity(), "capacity_expansion")
        opex = self.revenue * self.cfg.opex_share_of_revenue
        spend(ledger, self, "households", opex, "vendor_opex")
        self.repaid(repay_debt(ledger, self, self.debt, reserve=0.0, share=1.0))

    def firm_row(self) -> dict[str, Any]:
        return {
            **super().firm_row(),
            "price": self.price,
            "capacity": self.capacity,
            "backlog_h100e": self.backlog_h100e,
            "revenue": self.revenue,
        }

    def expand_capacity(self) -> float:
        """Packaging capacity grows toward demand, at most ``capacity_growth_per_month``.

        Returns the $ it pays the foundry for the added capacity."""
        pressure = min(max(self.backlog_months / self.gpu.target_backlog_months, 0.0), 1.0)
        added = self.capacity * self.cfg.capacity_growth_per_month * pressure
        self.capacity += added
        return added * self.cfg.capacity_cost_per_unit_month

    def launch_premium(self, ramp_start: float | None, month: int) -> float:
        """Unit cost above maturity of a generation whose ramp began at ``ramp_start``, in
        ``month``: ``launch_cost_premium * exp(-age / launch_cost_decay_months)``, age at
        the month's middle (learning by doing: yields and build costs improve with
        output; the first generation is mature from the start)."""
        g = self.gpu
        if ramp_start is None or g.launch_cost_premium == 0.0:
            return 0.0
        age = month + 0.5 - ramp_start
        return g.launch_cost_premium * math.exp(-age / g.launch_cost_decay_months)

    def next_generation_share(self, month: int) -> tuple[float, float]:
        """The share of ``month``'s parts that are of the generation after the established
        one, and the month its ramp begins: it is released at the end of month ``r =
        next_release_month + n release_interval_months`` and its share rises linearly
        over ``generation_ramp_months`` ``R`` centred there,
        ``min(max(1/2 + (month - r - 1/2) / R, 0), 1)`` (with ``R = 0``, all of it from
        month ``r + 1``)."""
        g = self.gpu
        release = g.next_release_month + self.generation * g.release_interval_months
        ramp = g.generation_ramp_months
        if ramp == 0:
            share = 1.0 if month >= release + 1 else 0.0
        else:
            share = min(max(0.5 + (month - release - 0.5) / ramp, 0.0), 1.0)
        return share, release + 1 - ramp / 2.0

    def set_output_mix(self, month: int) -> None:
        """The parts it makes in ``month``: while the next generation ramps up, a mix.

        The next generation (``perf_gain_per_generation`` more H100e per part,
        ``cost_growth_per_generation`` the cost, ``power_growth_per_generation`` the power)
        is released at the end of month ``r = next_release_month + n
        release_interval_months``; its share of output rises linearly over
        ``generation_ramp_months`` centred there (at once when 0), and it is established
        when it makes all parts. Its first parts cost ``launch_premium`` more. The price
        per part keeps its ratio to the mature cost of the mix, so the margin on mature
        cost carries over (the price follows the long-run cost: Spence 1981)."""
        g = self.gpu
        share, ramp_start = self.next_generation_share(month)
        if share == 0.0 and self.next_share == 0.0 and self.gen_ramp_start is None:
            return  # nothing ramping and nothing learning: the parts are as they were
        margin_ratio = self.price / self.mature_cost
        while share >= 1.0:  # the next generation is established (its successor may start)
            self.generation += 1
            self.generation_name = f"gen{self.generation + 1}"
            self.gen_perf *= g.perf_gain_per_generation
            self.gen_cost *= g.cost_growth_per_generation
            self.gen_kw *= g.power_growth_per_generation
            self.gen_ramp_start = ramp_start
            share, ramp_start = self.next_generation_share(month)
        perf = self.gen_perf * g.perf_gain_per_generation
        cost = self.gen_cost * g.cost_growth_per_generation
        kw = self.gen_kw * g.power_growth_per_generation
        self.next_share = share
        old = 1.0 - share  # (with no ramp under way, 1 and 0: the established parts exactly)
        perf_mix = old * self.gen_perf + share * perf
        kw_mix = old * self.gen_kw + share * kw
        cost_mix = old * self.gen_cost + share * cost
        established = self.gen_cost * (1.0 + self.launch_premium(self.gen_ramp_start, month))
        launch = cost * (1.0 + self.launch_premium(ramp_start, month))
        self.unit_cost = old * established + share * launch
        if cost_mix != self.mature_cost:  # a new mix: the price keeps its ratio to its cost
            self.price = cost_mix * margin_ratio
        self.perf, self.mature_cost, self.power_kw = perf_mix, cost_mix, kw_mix


def post_gpu_prices(model, ratios: np.ndarray) -> None:
    """Each vendor reads the clouds' orders at candidate prices (their investment
    rule, at next month's compute prices) and sets its price."""
    from abm.agents.hyperscaler import vendor_split

    vendors, clouds, hc = model.vendors, model.hyperscalers, model.cfg.hyperscalers
    base = np.array([v.price_per_h100e for v in vendors])
    on_order = [sum(v.backlog.get(h.unique_id, 0.0) for v in vendors) for h in clouds]
    # prices[i, c, :]: every vendor's price when vendor i posts ratios[c] times its own;
    # all vendors' candidates at once, so each cloud's rule is read once (it is elementwise
    # in the price, so this is the same as one vendor at a time)
    n = len(vendors)
    prices = np.broadcast_to(base, (n, ratios.size, n)).copy()
    idx = np.arange(n)
    prices[idx, :, idx] *= ratios[None, :]
    split = vendor_split(vendors, prices, hc)  # vendor moving x candidates x vendors
    avg = (split * prices).sum(axis=-1)
    wanted = sum(h.gpus_wanted(o, avg) for h, o in zip(clouds, on_order, strict=True))
    if model.own_use is not None:  # -- 2023 shortage: own-use buyers order next month too
        own = model.own_use
        lead = float(vendor_split(vendors, base, hc) @ [v.backlog_months for v in vendors])
        wanted = wanted + own.gpus_wanted(model.month + 1, avg, own.on_order(vendors), lead)
    orders = wanted * split[idx, :, idx]
    for v, row in zip(vendors, orders, strict=True):
        v.set_price(ratios, row)


def ship_gpus(model) -> list[tuple[GPUVendor, object, float]]:
    """Vendors ship (rationed when short); clouds take the parts into inventory."""
    deliveries = []
    by_id = {h.unique_id: h for h in model.hyperscalers}
    if model.own_use is not None:
        by_id[model.own_use.unique_id] = model.own_use
    for v in model.vendors:
        for buyer, units in v.allocate_output():
            h = by_id[buyer]
            h.receive_gpus(units, v.perf, v.power_kw, v.price)
            deliveries.append((v, h, units))
    return deliveries
