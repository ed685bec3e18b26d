"""ComputeMarket: the AI compute economy as a Mesa model.

A GPU vendor sells GPUs to hyperscalers; hyperscalers build data centres in
stages and rent out compute; model developers turn compute into tokens and sell
them directly and through API-wrapper startups to segments of end users. Every
trade travels along an edge of one supply graph, every payment is a transfer in
one ledger, and each step's prices are what the next step's buyers see.

``step()`` reads as the schedule of DESIGN section 3.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import mesa
import numpy as np
from scipy import sparse

from abm.agents.end_users import NO_PROVIDER, EndUserSegment
from abm.agents.hyperscaler import Hyperscaler
from abm.agents.model_developer import FRONTIER, OPEN_WEIGHT, ModelDeveloper, training_gpu_hours
from abm.agents.startup import WrapperStartup
from abm.agents.vendor import GPUVendor
from abm.config import Config, config_with_overrides, load_config
from abm.ledger import Ledger
from abm.market.demand import expected_sales, saturating_growth, softmax
from abm.market.pricing import best_response, candidate_ratios
from abm.market.rationing import allocate_with_spillover, spillover_sales
from abm.metrics import METRICS, compute_metrics
from abm.supply_graph import SupplyGraph


def _month_label(start: str, offset: int) -> str:
    year, month = (int(x) for x in start.split("-"))
    total = year * 12 + (month - 1) + offset
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


class ComputeMarket(mesa.Model):
    """The market model.

    Parameters
    ----------
    config:
        A validated :class:`~abm.config.Config`, a path to a TOML file, or ``None``
        for ``configs/baseline.toml``.
    rng:
        Seed (an int, or a string of digits as Solara hands over) or a numpy Generator.
    record_flows:
        Keep the per-trade flow log and the per-firm panel (for ``abm run`` outputs).
    **kwargs:
        Dotted config keys, e.g. ``**{"end_users.price_elasticity": 2.0}``. Double
        underscores are accepted for dots (``end_users__price_elasticity``) where a
        keyword must be an identifier.
    """

    def __init__(
        self,
        config: Config | str | Path | None = None,
        rng: Any = None,
        *,
        seed: Any = None,
        record_flows: bool = False,
        **kwargs: Any,
    ) -> None:
        if rng is None and seed is not None:
            rng = seed
        if isinstance(rng, str):
            if not rng.strip().lstrip("-").isdigit():
                raise ValueError(f"rng must be an integer seed, got {rng!r}")
            rng = int(rng)
        super().__init__(rng=rng)
        # Random streams: one per purpose and per step, all derived from the model's
        # generator. A draw that consumes a variable amount of randomness (a Poisson
        # count, a gamma duration) then cannot shift any other draw, so runs that differ
        # in one lever or in the simulated population share every other draw (common
        # random numbers): their differences are the lever's, not noise.
        self._stream_key = int(self.rng.integers(2**63))
        self._streams: dict[tuple[int, str], np.random.Generator] = {}
        cfg = config if isinstance(config, Config) else load_config(config)
        # dotted config keys (named kwargs because SolaraViz looks for exactly that name)
        overrides = {k.replace("__", "."): v for k, v in kwargs.items()}
        self.cfg = cfg = config_with_overrides(cfg, overrides)
        self.seed_value = rng if isinstance(rng, int) else None
        self.ledger = Ledger()
        self.supply = SupplyGraph(record_flows=record_flows)
        self.record_flows = record_flows
        self.firm_log: list[dict[str, Any]] = []  # per-step firm panel, when record_flows
        self.month = 0  # months since the start, of the month being simulated
        self.date = _month_label(cfg.simulation.start, -1)
        self._ratios = candidate_ratios(
            cfg.model_developers.price_search_width, cfg.model_developers.price_candidates
        )
        self._build_agents()
        self.quality_bar = max(lab.quality for lab in self.labs)  # best model at step 0
        self.flows_step: dict[str, float] = {}
        self.counters = {"entries": 0, "exits": 0}
        self.datacollector = mesa.DataCollector(
            model_reporters={name: _reporter(name) for name in METRICS}
        )
        self.metrics = compute_metrics(self)
        self.datacollector.collect(self)

    # ================================================================== set-up
    def _open_account(self, agent, cash: float, source: str) -> None:
        self.ledger.open(agent.unique_id)
        self.ledger.transfer(source, agent.unique_id, cash, "initial_capital")
        self.supply.add_node(agent.unique_id, agent.layer, agent.name)

    def _build_agents(self) -> None:
        cfg, rng = self.cfg, self.stream("setup")
        g = cfg.gpu
        # vendors
        self.vendors = [GPUVendor(self, v, g) for v in g.vendors]
        for v in self.vendors:
            self._open_account(v, 0.0, "households")
        first = self.vendors[0]
        # hyperscalers: the installed base split with some spread
        hc = cfg.hyperscalers
        shares = rng.dirichlet(np.full(hc.count, 8.0))
        self.hyperscalers = []
        for i in range(hc.count):
            region = hc.regions[i % len(hc.regions)]
            h = Hyperscaler(
                self,
                hc,
                cfg.datacenters,
                region,
                hc.initial_installed_h100e * shares[i],
                g.legacy_perf,
                g.legacy_power_kw,
                first.perf,
                first.power_kw,
                legacy_unit_value=0.4 * first.price,
            )
            self.hyperscalers.append(h)
            self._open_account(h, hc.initial_cash * shares[i] * hc.count, "households")
            for v in self.vendors:
                self.supply.connect(v.unique_id, h.unique_id)
        for v in self.vendors:
            # orders already booked in January 2023
            total = v.cfg.initial_backlog_months * v.capacity_h100e
            for h, s in zip(self.hyperscalers, shares, strict=True):
                v.backlog[h.unique_id] = total * s
        # model developers
        mc = cfg.model_developers
        self.labs: list[ModelDeveloper] = []
        price0 = hc.initial_compute_price
        for i in range(mc.frontier_count):
            q = mc.initial_quality - (
                mc.quality_spread * i / max(mc.frontier_count - 1, 1) if i else 0.0
            )
            cash = mc.initial_cash_frontier * float(rng.lognormal(0.0, 0.3))
            budget = cash * mc.training_spend_rate
            run_share = (
                10.0**q / (mc.training_window_months * budget / price0) if budget > 0 else 1.0
            )
            lab = ModelDeveloper(self, mc, FRONTIER, q, mc.initial_price_frontier, run_share)
            lab.training_budget = budget
            self.labs.append(lab)
            self._open_account(lab, cash, "venture_capital")
        best = max((lab.quality for lab in self.labs), default=mc.initial_quality)
        for _ in range(mc.open_weight_hosts):
            lab = ModelDeveloper(
                self, mc, OPEN_WEIGHT, best - mc.open_weight_gap, mc.initial_price_open, 1.0
            )
            lab.training_budget = 0.0
            self.labs.append(lab)
            self._open_account(lab, mc.initial_cash_open, "venture_capital")
        for lab in self.labs:
            for h in self.hyperscalers:
                self.supply.connect(h.unique_id, lab.unique_id)
        # end-user segments: simulated users split by simulated_share
        uc = cfg.end_users
        weights = np.array([s.simulated_share for s in uc.segments])
        counts = np.maximum(np.floor(uc.simulated_users * weights / weights.sum()).astype(int), 1)
        self.segments = [
            EndUserSegment(self, s, uc, int(n)) for s, n in zip(uc.segments, counts, strict=True)
        ]
        for seg in self.segments:
            self.supply.add_node(seg.unique_id, seg.layer, seg.name)
            for lab in self.labs:
                self.supply.connect(lab.unique_id, seg.unique_id)
        # startups
        self.startups: list[WrapperStartup] = []
        for _ in range(cfg.startups.initial_count):
            self._found_startup(initial=True)

    def _pick_supplier(self) -> ModelDeveloper:
        """A lab chosen the way users choose: logit on quality and price."""
        uc = self.cfg.end_users
        util = np.array(
            [
                uc.quality_sensitivity * lab.quality - uc.price_sensitivity * math.log(lab.price)
                for lab in self.labs
            ]
        )
        return self.labs[int(self.stream("startups").choice(len(self.labs), p=softmax(util)))]

    def _found_startup(self, initial: bool = False) -> WrapperStartup:
        sc = self.cfg.startups
        lab = self._pick_supplier()
        burn = sc.burn_per_month_median * float(
            self.stream("startups").lognormal(0.0, sc.burn_sigma)
        )
        bonus = sc.app_bonus + sc.app_bonus_sigma * float(self.stream("startups").standard_normal())
        s = WrapperStartup(self, sc, lab.unique_id, lab.price, burn, bonus)
        self.startups.append(s)
        # seed funding: a startup exists once venture capital has paid in
        seed = sc.seed_round * (
            float(self.stream("startups").uniform(0.5, 1.5)) if initial else 1.0
        )
        self.ledger.open(s.unique_id)
        self.supply.add_node(s.unique_id, s.layer, s.name)
        self.ledger.transfer("venture_capital", s.unique_id, seed, "vc_startups")
        self.supply.connect(lab.unique_id, s.unique_id)
        for seg in self.segments:
            self.supply.connect(s.unique_id, seg.unique_id)
        return s

    # ================================================================== helpers
    STREAMS = ("setup", "users", "projects", "vc", "startups", "shocks")

    def stream(self, purpose: str) -> np.random.Generator:
        """This step's random generator for one purpose (see ``STREAMS``)."""
        key = (self.steps, purpose)
        gen = self._streams.get(key)
        if gen is None:
            if len(self._streams) > 4 * len(self.STREAMS):
                self._streams = {k: v for k, v in self._streams.items() if k[0] == self.steps}
            gen = np.random.default_rng([self._stream_key, self.steps, self.STREAMS.index(purpose)])
            self._streams[key] = gen
        return gen

    def cash(self, agent) -> float:
        return self.ledger.balance(agent.unique_id)

    def _pay(self, payer, payee: Any, amount: float, kind: str) -> None:
        """A payment that a firm with a credit line (debt) can always make."""
        if amount <= 0:
            return
        short = amount - self.ledger.balance(payer.unique_id)
        if short > 0:
            self.ledger.transfer("lenders", payer.unique_id, short, "borrowing")
            payer.debt += short
        self.ledger.transfer(payer.unique_id, payee, amount, kind)

    @property
    def lab_by_id(self) -> dict[int, ModelDeveloper]:
        return {lab.unique_id: lab for lab in self.labs}

    # ================================================================== the step
    def step(self) -> None:
        self.month = self.steps - 1
        self.date = _month_label(self.cfg.simulation.start, self.month)
        self._start_step()
        # 1. observe: posted prices and qualities, read from the sellers
        market = self.observe_market()
        # 2. demand, downstream to upstream
        self.users_choose_and_order(market)
        self.firms_total_token_orders(market)
        self.labs_plan_compute()
        self.hyperscalers_order_and_plan()
        # 3. supply, upstream to downstream
        self.vendors_ship()
        self.hyperscalers_install()
        self.clear_compute_market()
        self.serve_tokens(market)
        # 4. settle: cash only for what was delivered, along the graph's edges
        self.settle()
        # 5. prices for next step, from what each price setter just saw
        self.update_prices(market)
        # 6. lifecycle
        self.lifecycle()
        # 7. collect
        self.metrics = compute_metrics(self)
        self.datacollector.collect(self)
        if self.record_flows:
            self.firm_log.extend({"step": self.steps, **row} for row in self.firm_states())

    def run(self, steps: int | None = None) -> ComputeMarket:
        for _ in range(self.cfg.simulation.steps if steps is None else steps):
            self.step()
        return self

    def _start_step(self) -> None:
        self.ledger.start_step()
        self.supply.start_step(self.steps)
        for a in (*self.vendors, *self.hyperscalers, *self.labs, *self.startups):
            a.start_step()
        self.counters = {"entries": 0, "exits": 0}

    # ------------------------------------------------------------------ 1. observe
    def observe_market(self) -> dict[str, Any]:
        """Columns of the retail market (labs' direct channel, then startups) with
        their posted prices, qualities and, per segment, logit choice probabilities."""
        uc, mc, sc = self.cfg.end_users, self.cfg.model_developers, self.cfg.startups
        labs, startups = self.labs, self.startups
        lab_col = {lab.unique_id: i for i, lab in enumerate(labs)}
        col_ids = np.array([a.unique_id for a in (*labs, *startups)], dtype=np.int64)
        quality = np.array(
            [lab.quality for lab in labs] + [labs[lab_col[s.supplier]].quality for s in startups]
        )
        price = np.array([lab.price for lab in labs] + [s.price for s in startups])
        is_startup = np.r_[np.zeros(len(labs), bool), np.ones(len(startups), bool)]
        app_bonus = np.r_[
            np.full(len(labs), mc.first_party_app_bonus if mc.first_party_apps else 0.0),
            [s.app_bonus for s in startups],
        ]
        crowding = np.where(
            is_startup, -math.log(max(len(startups), 1) / sc.crowding_reference), 0.0
        )
        base = uc.quality_sensitivity * quality - uc.price_sensitivity * np.log(price)
        if not mc.direct_sales and startups:
            base[: len(labs)] = -np.inf  # labs sell only wholesale: users reach them through apps
        choice = (
            np.vstack(
                [
                    softmax(
                        base
                        + app_bonus * seg.cfg.app_affinity
                        + np.where(is_startup, crowding, 0.0)
                    )
                    for seg in self.segments
                ]
            )
            if col_ids.size
            else np.zeros((len(self.segments), 0))
        )
        col_of = np.full(int(col_ids.max()) + 1 if col_ids.size else 1, -1, dtype=np.int64)
        col_of[col_ids] = np.arange(col_ids.size)
        quality_factor = np.exp(uc.value_per_quality * (quality - mc.reference_quality))
        # which lab each column's tokens come from
        source = np.array(
            list(range(len(labs))) + [lab_col[s.supplier] for s in startups], dtype=np.int64
        )
        return {
            "col_ids": col_ids,
            "col_of": col_of,
            "price": price,
            "quality": quality,
            "quality_factor": quality_factor,
            "choice": choice,
            "source": source,
            "n_labs": len(labs),
        }

    # ------------------------------------------------------------------ 2. demand
    def users_choose_and_order(self, market: dict[str, Any]) -> None:
        uc = self.cfg.end_users
        tpt_multiplier = saturating_growth(
            self.month, uc.tokens_per_task_growth_per_year, uc.tokens_per_task_max_multiplier
        )
        n_cols = market["col_ids"].size
        self.orders_by_segment = np.zeros((len(self.segments), n_cols))
        for k, seg in enumerate(self.segments):
            if uc.bass:
                seg.adopt(seg.cfg.bass_p, seg.cfg.bass_q)
            seg.grow_tokens_per_task(tpt_multiplier)
            if uc.demand_noise_sigma > 0:
                seg.draw_demand_shock(uc.demand_noise_sigma, uc.demand_noise_persistence)
            seg.choose_providers(
                market["col_ids"], market["choice"][k], market["col_of"], uc.switching_rate
            )
            if n_cols:
                self.orders_by_segment[k] = seg.order_tokens(
                    market["price"], market["quality_factor"]
                )

    def firms_total_token_orders(self, market: dict[str, Any]) -> None:
        """Startups pass their users' orders to their supplier; labs total both channels."""
        by_col = self.orders_by_segment.sum(axis=0)
        n_labs = market["n_labs"]
        for i, s in enumerate(self.startups):
            s.token_orders = by_col[n_labs + i]
        for i, lab in enumerate(self.labs):
            lab.token_orders = by_col[i]
        labs = self.lab_by_id
        for s in self.startups:
            labs[s.supplier].token_orders += s.token_orders

    def _vendor_split(self, prices_per_h100e: np.ndarray) -> np.ndarray:
        """How clouds split GPU orders across vendors: logit on price per H100e, each
        vendor's ecosystem (software lock-in) and its queue (months of backlog)."""
        hc = self.cfg.hyperscalers
        bonus = np.array(
            [v.cfg.ecosystem_bonus - hc.lead_time_aversion * v.backlog_months for v in self.vendors]
        )
        return softmax(bonus - hc.buyer_price_sensitivity * np.log(prices_per_h100e), axis=-1)

    def _compute_shares(self) -> np.ndarray:
        """How each lab splits its compute across clouds: logit on posted price."""
        prices = np.array([h.price for h in self.hyperscalers])
        return softmax(-self.cfg.hyperscalers.buyer_price_sensitivity * np.log(prices))

    def trend_compute_price(self) -> float:
        """The compute price labs expect from the hardware trend ($ per GPU-h)."""
        mc = self.cfg.model_developers
        return self.cfg.hyperscalers.initial_compute_price / mc.compute_price_trend_per_year ** (
            self.month / 12.0
        )

    def labs_plan_compute(self) -> None:
        shares = self._compute_shares()
        expected_price = float(shares @ np.array([h.price for h in self.hyperscalers]))
        trend_price = self.trend_compute_price()
        for lab in self.labs:
            lab.plan_compute(
                self.month, lab.training_budget, expected_price, trend_price, self.cash(lab)
            )

    def hyperscalers_order_and_plan(self) -> None:
        """Forecast demand, order GPUs (order-up-to), start data-centre projects."""
        shares = self._compute_shares()
        requests = np.array([lab.serving_request + lab.training_request for lab in self.labs])
        asked = requests.sum() * shares if requests.size else np.zeros(len(self.hyperscalers))
        vendor_prices = np.array([v.price_per_h100e for v in self.vendors])
        vendor_split = self._vendor_split(vendor_prices)
        newest_kw = float(np.dot(vendor_split, [v.power_kw / v.perf for v in self.vendors]))
        seen = asked
        if self.cfg.hyperscalers.information_sharing and requests.size:
            # the labs' total needs (end demand) at each cloud's share of the fleet,
            # not its own order stream, which also swings with its price against rivals'
            fleet = np.array([h.installed_h100e + h.inventory_h100e for h in self.hyperscalers])
            seen = requests.sum() * (fleet / fleet.sum() if fleet.sum() > 0 else shares)
        for h, demand, signal in zip(self.hyperscalers, asked, seen, strict=True):
            h.demand = float(demand)
            h.update_forecast(float(signal))
            on_order = sum(v.backlog.get(h.unique_id, 0.0) for v in self.vendors)
            want = h.gpus_wanted(on_order, float(vendor_split @ vendor_prices))
            for v, s in zip(self.vendors, vendor_split, strict=True):
                v.take_order(h.unique_id, want * s)
            h.orders_h100e = want
            h.plan_data_centres(on_order + want, newest_kw)

    # ------------------------------------------------------------------ 3. supply
    def vendors_ship(self) -> None:
        self.gpu_deliveries: list[tuple[GPUVendor, Hyperscaler, float]] = []
        by_id = {h.unique_id: h for h in self.hyperscalers}
        for v in self.vendors:
            for buyer, units in v.allocate_output():
                h = by_id[buyer]
                h.receive_gpus(units, v.perf, v.power_kw, v.price)
                self.gpu_deliveries.append((v, h, units))

    def hyperscalers_install(self) -> None:
        for h in self.hyperscalers:
            h.install_gpus()

    def clear_compute_market(self) -> None:
        """Pro-rata rationing at each cloud, with unmet demand spilling to spare capacity."""
        shares = self._compute_shares()
        requests = np.array([lab.serving_request + lab.training_request for lab in self.labs])
        capacities = np.array([h.gpu_hours for h in self.hyperscalers])
        if self.cfg.hyperscalers.fixed_compute_price is not None:
            capacities = np.full(len(self.hyperscalers), np.inf)  # a passive layer never rations
        self.compute_requests = requests[:, None] * shares[None, :]
        self.compute_filled, self.compute_unmet = allocate_with_spillover(
            self.compute_requests, capacities
        )
        for lab, row in zip(self.labs, self.compute_filled, strict=True):
            lab.use_compute(float(row.sum()), self.month)
        for h, col, cap in zip(self.hyperscalers, self.compute_filled.T, capacities, strict=True):
            h.sold = float(col.sum())
            h.capacity_gpu_hours = float(cap)

    def serve_tokens(self, market: dict[str, Any]) -> None:
        """Tokens are served only as far as compute allows; shortfalls pass pro rata
        to every buyer of that lab, startups' users included."""
        lab_fill = np.array([lab.fill for lab in self.labs])
        col_fill = lab_fill[market["source"]] if market["col_ids"].size else np.zeros(0)
        self.col_fill = col_fill
        for seg in self.segments:
            seg.receive(col_fill)
        self.delivered_by_segment = self.orders_by_segment * col_fill[None, :]
        sold = self.delivered_by_segment[:, market["n_labs"] :].sum(axis=0)
        for s, q in zip(self.startups, sold.tolist(), strict=True):
            s.tokens_sold = q

    # ------------------------------------------------------------------ 4. settle
    def settle(self) -> None:
        tr, graph = self.ledger.transfer, self.supply
        # end users pay their providers for tokens delivered: one transfer per segment and seller
        sellers = [*self.labs, *self.startups]
        if sellers:
            price = np.array([a.price for a in sellers])
            values = self.delivered_by_segment * price[None, :]
            seg_idx, col_idx = np.nonzero(self.delivered_by_segment > 0)
            seller_ids = np.array([a.unique_id for a in sellers])[col_idx].tolist()
            buyer_ids = np.array([g.unique_id for g in self.segments])[seg_idx].tolist()
            amounts = values[seg_idx, col_idx]
            self.ledger.transfer_many(
                ["households"] * len(seller_ids), seller_ids, amounts, "user_spend"
            )
            graph.trade_many(
                seller_ids, buyer_ids, self.delivered_by_segment[seg_idx, col_idx], amounts
            )
            for a, revenue in zip(sellers, values.sum(axis=0).tolist(), strict=True):
                a.revenue += revenue
        # startups pay their supplier lab for the tokens they resold
        labs = self.lab_by_id
        resold = [s for s in self.startups if s.tokens_sold > 0]
        if resold:
            qty = np.array([s.tokens_sold for s in resold])
            amounts = qty * np.array([labs[s.supplier].price for s in resold])
            self.ledger.transfer_many(
                [s.unique_id for s in resold],
                [s.supplier for s in resold],
                amounts,
                "wholesale_tokens",
            )
            graph.trade_many(
                [s.supplier for s in resold], [s.unique_id for s in resold], qty, amounts
            )
            for s, value in zip(resold, amounts, strict=True):
                s.token_cost = float(value)
                labs[s.supplier].revenue += float(value)
        for lab in self.labs:
            lab.tokens_sold = lab.token_orders * lab.fill
        # labs pay clouds for compute used; clouds pay for power and operations
        for lab, row in zip(self.labs, self.compute_filled, strict=True):
            paid = 0.0
            for h, q in zip(self.hyperscalers, row, strict=True):
                if q > 0:
                    value = float(q) * h.price
                    self._pay(lab, h.unique_id, value, "compute")
                    graph.trade(h.unique_id, lab.unique_id, float(q), value)
                    h.revenue += value
                    paid += value
            lab.compute_unit_cost = paid / lab.compute_received if lab.compute_received > 0 else 0.0
            lab.serving_cost = lab.serving_gpu_hours * lab.compute_unit_cost
            lab.training_cost = lab.training_gpu_hours * lab.compute_unit_cost
        for h in self.hyperscalers:
            h.energy_cost = h.sold * h.marginal_cost
            self._pay(h, "energy_opex", h.energy_cost, "energy_opex")
        # clouds pay the vendor for GPUs delivered; the vendor pays the foundry
        for v, h, units in self.gpu_deliveries:
            value = units * v.price
            self._pay(h, v.unique_id, value, "gpu_sales")
            graph.trade(v.unique_id, h.unique_id, units, value)
            h.gpu_capex += value
            v.revenue += value
            v.shipped_units += units
            cost = units * v.unit_cost
            v.cogs += cost
            tr(v.unique_id, "foundry_components", cost, "foundry")

    # ------------------------------------------------------------------ 5. prices
    def update_prices(self, market: dict[str, Any]) -> None:
        self._set_compute_prices()
        self._set_gpu_prices()
        self._set_token_prices(market)

    def _set_compute_prices(self) -> None:
        """Each cloud reads what it would sell at candidate prices: labs' split across
        clouds (logit) and their training runs (price-elastic) move, serving needs do
        not, and demand a full rival cannot serve spills over (the market's own
        clearing rule), so a cloud sees its residual demand."""
        clouds, labs = self.hyperscalers, self.labs
        hc = self.cfg.hyperscalers
        if hc.pricing == "utilization":
            for h in clouds:
                h.set_price()
            return
        base = np.array([h.price for h in clouds])
        serving = sum(lab.serving_request for lab in labs)
        frontier = [lab for lab in labs if lab.is_frontier]
        budgets = np.array([lab.training_budget for lab in frontier])
        cash = np.array([self.cash(lab) for lab in frontier])
        trend = self.trend_compute_price()
        eta = self.cfg.model_developers.training_price_elasticity
        capacities = np.array([h.gpu_hours for h in clouds])
        n = len(clouds)
        # prices[i, c, :]: every cloud's price when cloud i posts ratios[c] times its own
        prices = np.broadcast_to(base, (n, self._ratios.size, n)).copy()
        idx = np.arange(n)
        prices[idx, :, idx] *= self._ratios[None, :]
        shares = softmax(-hc.buyer_price_sensitivity * np.log(prices))
        expected = (shares * prices).sum(axis=-1)
        training = (
            training_gpu_hours(
                budgets[None, None, :], expected[..., None], trend, cash[None, None, :], eta
            ).sum(axis=-1)
            if frontier
            else 0.0
        )
        sales = spillover_sales((serving + training)[..., None] * shares, capacities)
        demand = sales[idx, :, idx]
        for h, row in zip(clouds, demand, strict=True):
            h.set_price(self._ratios, row)

    def _set_gpu_prices(self) -> None:
        """Each vendor reads the clouds' orders at candidate prices (their investment
        rule, at next month's compute prices) and sets its price."""
        vendors, clouds = self.vendors, self.hyperscalers
        base = np.array([v.price_per_h100e for v in vendors])
        on_order = [sum(v.backlog.get(h.unique_id, 0.0) for v in vendors) for h in clouds]
        orders = np.zeros((len(vendors), self._ratios.size))
        for i in range(len(vendors)):
            prices = np.broadcast_to(base, (self._ratios.size, len(vendors))).copy()
            prices[:, i] *= self._ratios
            split = self._vendor_split(prices)  # candidates x vendors
            avg = (split * prices).sum(axis=1)
            wanted = sum(h.gpus_wanted(o, avg) for h, o in zip(clouds, on_order, strict=True))
            orders[i] = wanted * split[:, i]
        for v, row in zip(vendors, orders, strict=True):
            v.set_price(self._ratios, row)

    def _set_token_prices(self, market: dict[str, Any]) -> None:
        """Labs and startups best-respond to today's prices, each reading the demand
        it would face from the segments' market-research panels."""
        labs, startups = self.labs, self.startups
        n_labs, n_cols = len(labs), market["col_ids"].size
        if n_cols == 0:
            return
        uc = self.cfg.end_users
        col_x = market["price"] / market["quality_factor"]
        # the grid covers every price a firm is considering, quality-adjusted
        span = np.log(self._ratios[-1]) + 0.05
        log_x_grid = np.linspace(np.log(col_x.min()) - span, np.log(col_x.max()) + span, 48)
        curves = np.vstack([seg.demand_curve(log_x_grid) for seg in self.segments])
        # who moves which column: a lab moves its own and its resellers' retail prices
        rows = list(range(n_labs)) + [n_labs + i for i in range(len(startups))]
        cols = list(range(n_labs)) + [n_labs + i for i in range(len(startups))]
        lab_index = {lab.unique_id: i for i, lab in enumerate(labs)}
        rows += [lab_index[s.supplier] for s in startups]
        cols += [n_labs + i for i in range(len(startups))]
        membership = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_cols, n_cols))
        quantity = expected_sales(
            market["choice"],
            curves,
            log_x_grid,
            col_x,
            membership,
            self._ratios,
            uc.price_sensitivity,
        )
        shares = self._compute_shares()
        posted = float(shares @ np.array([h.price for h in self.hyperscalers]))
        lab_cost = np.array(
            [lab.serving_cost_per_mtok(lab.compute_unit_cost or posted, self.month) for lab in labs]
        )
        supplier_price = np.array([labs[lab_index[s.supplier]].price for s in startups])
        price = market["price"]
        cost = np.r_[lab_cost, supplier_price]
        new = best_response(
            price,
            cost,
            self._ratios,
            quantity,
            np.r_[
                np.full(n_labs, self.cfg.model_developers.price_adjustment),
                np.full(len(startups), self.cfg.startups.markup_adjustment),
            ],
            floor=np.r_[np.full(n_labs, 1e-6), supplier_price],
        )
        for lab, p in zip(labs, new[:n_labs], strict=True):
            lab.price = float(p)
        # a startup keeps the markup it chose over the price its supplier just set
        if startups:
            markup = np.maximum(new[n_labs:] / supplier_price - 1.0, 0.0)
            supplier_new = np.array([labs[lab_index[s.supplier]].price for s in startups])
            for s, m_, p in zip(
                startups, markup.tolist(), (supplier_new * (1.0 + markup)).tolist(), strict=True
            ):
                s.markup, s.price = m_, p
        self.lab_unit_cost = lab_cost

    # ------------------------------------------------------------------ 6. lifecycle
    def lifecycle(self) -> None:
        self._hyperscalers_build_and_retire()
        self._vendors_expand_and_release()
        self._labs_train_and_fund()
        self._startups_burn_fund_exit_enter()

    def _hyperscalers_build_and_retire(self) -> None:
        hc = self.cfg.hyperscalers
        for h in self.hyperscalers:
            labour, materials = h.build()
            self._pay(h, "households", labour, "construction_labour")
            self._pay(h, "foundry_components", materials, "construction_materials")
            h.building_capex = labour + materials
            h.retire()
            interest = h.debt * hc.interest_rate_per_month
            self._pay(h, "lenders", interest, "interest")
            # repay debt from cash beyond three months of capex
            spare = self.cash(h) - 3.0 * (h.gpu_capex + h.building_capex)
            if h.debt > 0 and spare > 0:
                repay = min(h.debt, 0.2 * spare)
                self.ledger.transfer(h.unique_id, "lenders", repay, "repayment")
                h.debt -= repay

    def _vendors_expand_and_release(self) -> None:
        g = self.cfg.gpu
        release = self.month >= g.next_release_month and (
            (self.month - g.next_release_month) % g.release_interval_months == 0
        )
        for v in self.vendors:
            cost = v.expand_capacity()
            if cost > 0:
                self.ledger.transfer(
                    v.unique_id,
                    "foundry_components",
                    min(cost, max(self.cash(v), 0.0)),
                    "capacity_expansion",
                )
            opex = v.revenue * v.cfg.opex_share_of_revenue
            self.ledger.transfer(
                v.unique_id, "households", min(opex, max(self.cash(v), 0.0)), "vendor_opex"
            )
            if release:
                v.release_generation()

    def climate(self) -> float:
        """The venture-capital climate this month (1 = normal), from the configured path."""
        vc = self.cfg.vc
        if not vc.climate_path:
            return vc.climate
        months, levels = zip(*sorted(vc.climate_path), strict=True)
        return float(np.interp(self.month, months, levels)) * vc.climate

    def _labs_train_and_fund(self) -> None:
        mc, vc = self.cfg.model_developers, self.cfg.vc
        climate = self.climate()
        algo = mc.training_algo_gain_per_year ** (self.month / 12.0)
        for lab in self.labs:
            lab.train(algo)
        best = max((lab.quality for lab in self.labs if lab.is_frontier), default=None)
        best_all = max(lab.quality for lab in self.labs)
        for lab in self.labs:
            if best is not None:
                lab.follow_open_frontier(best)
            staff = mc.staff_cost_per_month * (1.0 if lab.is_frontier else 0.2)
            self.ledger.transfer(
                lab.unique_id, "households", min(staff, max(self.cash(lab), 0.0)), "lab_staff"
            )
            cash = self.cash(lab)
            burn = lab.training_cost + lab.serving_cost + staff - lab.revenue
            runway = cash / burn if burn > 0 else math.inf
            if lab.is_frontier:
                # training budgets grow while the runway is comfortable and shrink when it is not
                if runway > 0.75 * vc.lab_raise_runway_months:
                    lab.training_budget *= 1.0 + mc.training_budget_growth_per_month
                elif runway < 0.5 * vc.lab_raise_runway_months:
                    lab.training_budget *= 0.9
            if runway < vc.lab_raise_runway_months:
                standing = math.exp(-(best_all - lab.quality))  # investors back the leaders
                if self.stream("vc").random() < min(
                    1.0, vc.lab_round_probability * climate * standing
                ):
                    # a round buys runway, but investors size it by what the lab earns
                    wanted = vc.lab_round_runway_months * max(burn, lab.training_budget, staff)
                    cap = climate * (
                        vc.lab_round_base + vc.lab_round_revenue_multiple * 12.0 * lab.revenue
                    )
                    self.ledger.transfer(
                        "venture_capital", lab.unique_id, min(wanted, cap), "vc_labs"
                    )
            # labs repay credit-line debt out of cash
            if lab.debt > 0 and self.cash(lab) > 0:
                repay = min(lab.debt, self.cash(lab))
                self.ledger.transfer(lab.unique_id, "lenders", repay, "repayment")
                lab.debt -= repay

    def _startups_burn_fund_exit_enter(self) -> None:
        sc, vc = self.cfg.startups, self.cfg.vc
        climate = self.climate()
        startups = self.startups
        if startups:
            ids = [s.unique_id for s in startups]
            gross = np.array([s.revenue - s.token_cost for s in startups])
            # growth-mode startups spend their gross profit and more on hiring and marketing
            burn = np.array([s.base_burn for s in startups]) + sc.reinvest_share * np.maximum(
                gross, 0.0
            )
            cash = self.ledger.balances(ids)
            paid = np.minimum(burn, np.maximum(cash, 0.0))
            self.ledger.transfer_many(ids, ["households"] * len(ids), paid, "startup_burn")
            cash = cash - paid
            net_burn = burn - gross
            runway = np.divide(cash, net_burn, out=np.full_like(cash, np.inf), where=net_burn > 0)
            # a round: likelier in a warm climate and with traction (gross profit against burn)
            traction = np.divide(gross, burn, out=np.ones_like(burn), where=burn > 0).clip(max=2.0)
            chance = np.minimum(
                1.0, vc.startup_round_probability * climate * np.maximum(0.25, 0.5 + traction)
            )
            raised = (runway < sc.raise_runway_months) & (
                self.stream("vc").random(len(ids)) < chance
            )
            amount = sc.round_runway_months * burn * (1.0 + np.maximum(traction, 0.0))
            winners = np.nonzero(raised)[0]
            self.ledger.transfer_many(
                ["venture_capital"] * winners.size,
                [ids[i] for i in winners],
                amount[winners],
                "vc_startups",
            )
            cash[winners] += amount[winners]
            out = (cash <= 1e-6 * np.maximum(burn, 1.0)) & (burn > 0)
            survivors = []
            for s, b, r, gone in zip(startups, burn, raised, out, strict=True):
                s.burn = float(b)
                s.rounds += int(r)
                if gone:
                    self._exit_startup(s)
                else:
                    survivors.append(s)
            self.startups = survivors
        # supplier switching along the graph
        if self.startups and self.cfg.startups.supplier_switch_probability > 0:
            uc = self.cfg.end_users
            value = np.array(
                [
                    uc.quality_sensitivity * lab.quality
                    - uc.price_sensitivity * math.log(lab.price)
                    for lab in self.labs
                ]
            )
            best = int(np.argmax(value))
            labs = self.lab_by_id
            index = {lab.unique_id: i for i, lab in enumerate(self.labs)}
            reviews = (
                self.stream("startups").random(len(self.startups)) < sc.supplier_switch_probability
            )
            for s, review in zip(self.startups, reviews, strict=True):
                if (
                    review
                    and best != index[s.supplier]
                    and value[best] > value[index[s.supplier]] + 0.1
                ):
                    self.supply.disconnect(s.supplier, s.unique_id)
                    s.supplier = self.labs[best].unique_id
                    self.supply.connect(s.supplier, s.unique_id)
                    s.follow_supplier_price(labs[s.supplier].price)
        # entry: more when VC is plentiful and startups' margins are good
        # free entry: founders come while incumbents' gross profit covers their burn
        cover = [(s.revenue - s.token_cost) / s.burn for s in self.startups if s.burn > 0]
        attract = float(np.clip(np.median(cover), 0.0, 3.0)) if cover else 1.0
        n = int(self.stream("startups").poisson(sc.entry_rate_per_month * climate * attract))
        n = max(0, min(n, sc.max_count - len(self.startups)))
        for _ in range(n):
            self._found_startup()
        self.counters["entries"] = n

    def _exit_startup(self, s: WrapperStartup) -> None:
        left = self.cash(s)
        if left > 0:
            self.ledger.transfer(s.unique_id, "venture_capital", left, "liquidation")
        self.supply.remove_node(s.unique_id)
        self.counters["exits"] += 1
        s.remove()

    # ================================================================== reporting
    def firm_states(self) -> list[dict[str, Any]]:
        """One row per firm alive now: its layer, cash, debt and key state."""
        rows = []
        for v in self.vendors:
            rows.append(
                {
                    "id": v.unique_id,
                    "layer": v.layer,
                    "name": v.name,
                    "cash": self.cash(v),
                    "debt": 0.0,
                    "price": v.price,
                    "capacity": v.capacity,
                    "backlog_h100e": v.backlog_h100e,
                    "revenue": v.revenue,
                }
            )
        for h in self.hyperscalers:
            rows.append(
                {
                    "id": h.unique_id,
                    "layer": h.layer,
                    "name": h.name,
                    "cash": self.cash(h),
                    "debt": h.debt,
                    "price": h.price,
                    "installed_h100e": h.installed_h100e,
                    "energized_mw": h.energized_mw,
                    "pipeline_mw": h.pipeline_mw,
                    "revenue": h.revenue,
                    "region": h.region_name,
                }
            )
        for lab in self.labs:
            rows.append(
                {
                    "id": lab.unique_id,
                    "layer": lab.layer,
                    "name": lab.name,
                    "cash": self.cash(lab),
                    "debt": lab.debt,
                    "price": lab.price,
                    "quality": lab.quality,
                    "kind": lab.kind,
                    "revenue": lab.revenue,
                    "tokens_sold": lab.tokens_sold,
                }
            )
        for s in self.startups:
            rows.append(
                {
                    "id": s.unique_id,
                    "layer": s.layer,
                    "name": s.name,
                    "cash": self.cash(s),
                    "debt": 0.0,
                    "price": s.price,
                    "markup": s.markup,
                    "supplier": s.supplier,
                    "revenue": s.revenue,
                    "tokens_sold": s.tokens_sold,
                }
            )
        for seg in self.segments:
            rows.append(
                {
                    "id": seg.unique_id,
                    "layer": seg.layer,
                    "name": seg.name,
                    "adopted_share": seg.adopted_share,
                    "tokens_sold": seg.tokens_bought(),
                }
            )
        return rows


def _reporter(name: str):
    return lambda m: m.metrics[name]


__all__ = ["ComputeMarket", "NO_PROVIDER"]
