"""ComputeMarket: the AI compute economy as a Mesa model.

A GPU vendor sells GPUs to hyperscalers; hyperscalers build data centres in
stages and rent out compute; model developers turn compute into tokens and sell
them directly and through API-wrapper startups to segments of end users. Every
trade travels along an edge of one supply graph, every payment is a transfer in
one ledger, and each step's prices are what the next step's buyers see.

This module builds the market and holds the schedule; every decision is taken by
the agent that owns it (``abm/agents/``), and market mechanics are plain functions
(``abm/market/``). ``step()`` reads as the month's economics (see ``docs/model.md``).
"""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from abm.agents import startup
from abm.agents.end_users import NO_PROVIDER, EndUserSegment, choose_and_order, found_segments
from abm.agents.hyperscaler import (
    Hyperscaler,
    clear_compute_market,
    colocation_on,
    found_clouds,
    order_gpus_and_plan,
    post_compute_prices,
    vendor_split,
)
from abm.agents.model_developer import (
    ModelDeveloper,
    budget_training,
    cloud_shares,
    expect_initial_market,
    found_labs,
    post_token_prices,
    train_and_plan,
)
from abm.agents.own_use import found_own_use
from abm.agents.vendor import GPUVendor, post_gpu_prices, ship_gpus
from abm.config import Config, config_with_overrides, load_config
from abm.ledger import Ledger
from abm.market import credit
from abm.market.colocation import ColocationMarket
from abm.market.pricing import candidate_ratios
from abm.market.retail import RetailMarket, observe_retail_market
from abm.market.settlement import deliver, deliver_many
from abm.market.venture import VenturePool, hold_round
from abm.metrics import METRICS, compute_metrics
from abm.supply_graph import SupplyGraph

STREAMS = ("setup", "users", "projects", "vc", "startups", "shocks")


def uint32_words(n: int) -> list[int]:
    """A non-negative int as numpy's ``SeedSequence`` reads it in a list of seed ints:
    its 32-bit words, the lowest first (one word, 0, for 0). A list of ints seeds as
    the concatenation of their words (tests/test_fast_paths.py checks the generators
    are the same)."""
    words = [n & 0xFFFFFFFF]
    n >>= 32
    while n:
        words.append(n & 0xFFFFFFFF)
        n >>= 32
    return words


def _checked_seed(rng: Any, name: str = "rng") -> Any:
    """``rng`` as the model hands it to mesa, or a TypeError or ValueError that names the
    keyword it came in (``name``). A seed is a non-negative int (or a string of its
    digits, as Solara hands over), None (fresh entropy), or anything else numpy's
    ``default_rng`` takes (a Generator, a SeedSequence, a sequence of non-negative ints)."""
    if isinstance(rng, str):
        if not rng.strip().isdigit():
            raise ValueError(f"{name} must be a non-negative integer seed, got {name}={rng!r}")
        return int(rng)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng < 0:
        raise ValueError(f"{name} must be a non-negative integer seed, got {name}={rng!r}")
    if isinstance(rng, numbers.Real) and not isinstance(rng, numbers.Integral):
        raise TypeError(f"{name} must be an integer seed or a numpy Generator, got {name}={rng!r}")
    if rng is not None and not isinstance(rng, numbers.Integral | np.random.Generator):
        try:  # what numpy accepts, checked here so that the message names the argument
            np.random.default_rng(rng)
        except (TypeError, ValueError) as err:
            raise type(err)(f"{name}={rng!r} is not a seed numpy accepts: {err}") from None
    return rng


def month_label(start: str, offset: int) -> str:
    """``YYYY-MM`` of the month ``offset`` months after ``start`` (``YYYY-MM``)."""
    year, month = (int(x) for x in start.split("-"))
    total = year * 12 + (month - 1) + offset
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


class ComputeMarket(mesa.Model):
    """The market model.

    Parameters
    ----------
    config:
        A validated :class:`~abm.config.Config`, a path to a TOML file, or ``None``
        for the shipped baseline.
    rng:
        Seed (a non-negative int, or a string of digits as Solara hands over) or a numpy
        Generator; None draws fresh entropy.
    seed:
        Mesa's other name for ``rng``: pass one or the other, not both.
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
        if seed is not None:
            if rng is not None:  # as mesa.Model: one or the other
                raise ValueError(f"pass rng or seed, not both: got rng={rng!r} and seed={seed!r}")
            rng = _checked_seed(seed, "seed")
        else:
            rng = _checked_seed(rng, "rng")
        super().__init__(rng=rng)
        # Random streams: one per purpose and per step, all derived from the model's
        # generator. A draw that consumes a variable amount of randomness (a Poisson
        # count, a gamma duration) then cannot shift any other draw, so runs that differ
        # in one lever or in the simulated population share every other draw (common
        # random numbers): their differences are the lever's, not noise.
        self._stream_key = int(self.rng.integers(2**63))
        self._stream_words = uint32_words(self._stream_key)  # see stream()
        self._streams: dict[tuple[int, str], np.random.Generator] = {}
        cfg = config if isinstance(config, Config) else load_config(config)
        # dotted config keys (named kwargs because SolaraViz looks for exactly that name)
        overrides = {k.replace("__", "."): v for k, v in kwargs.items()}
        self.cfg = cfg = config_with_overrides(cfg, overrides)
        self.seed_value = rng if isinstance(rng, int) else None
        self.ledger = Ledger()
        self.venture = VenturePool(self.ledger, cfg.vc)
        self.supply = SupplyGraph(record_flows=record_flows)
        self.record_flows = record_flows
        self.firm_log: list[dict[str, Any]] = []  # per-step firm panel, when record_flows
        self.month = 0  # months since the start, of the month being simulated
        self.date = month_label(cfg.simulation.start, -1)
        mc = cfg.model_developers
        self.ratios = candidate_ratios(mc.price_search_width, mc.price_candidates)
        self.counters = {"entries": 0, "exits": 0, "acquisitions": 0, "defaults": 0}
        self.vendors: list[GPUVendor] = []
        self.hyperscalers: list[Hyperscaler] = []
        self.labs: list[ModelDeveloper] = []
        self.segments: list[EndUserSegment] = []
        self.startups: list[startup.WrapperStartup] = []
        self.exited: list[startup.WrapperStartup] = []  # startups that closed this month
        self._build_market()
        # -- 2023 shortage: own-use buyers (None unless configured), founded last: every other
        # agent keeps the id it has without them
        self.own_use = found_own_use(self)
        self.quality_bar = max(lab.quality for lab in self.labs)  # best model at step 0
        self.datacollector = MetricsCollector(
            model_reporters={name: _reporter(name) for name in METRICS}
        )
        self.metrics = compute_metrics(self)
        self.datacollector.collect(self)

    # ================================================================== set-up
    def _build_market(self) -> None:
        """Agents with their starting balances, and the supply graph's edges."""
        cfg, rng = self.cfg, self.stream("setup")
        self.vendors = [GPUVendor(self, v, cfg.gpu) for v in cfg.gpu.vendors]
        for v in self.vendors:
            v.open_account("households", 0.0)
        colo = colocation_on(cfg.datacenters)  # off in the baseline
        self.colocation = None if colo is None else ColocationMarket(colo)
        self.hyperscalers = found_clouds(self, rng)
        self.labs = found_labs(self, rng)
        self.segments = found_segments(self)
        for _ in range(cfg.startups.initial_count):
            self.startups.append(startup.found(self, initial=True))
        self.venture.endow(self.climate())
        expect_initial_market(self)

    def stream(self, purpose: str) -> np.random.Generator:
        """This step's random generator for one purpose (see ``STREAMS``): seeded with
        ``[stream key, step, purpose's index]``, handed to numpy as the 32-bit words it
        reads that list as (:func:`uint32_words`), which is the same seed without
        numpy's conversion of the Python ints (about half the cost of a generator)."""
        key = (self.steps, purpose)
        gen = self._streams.get(key)
        if gen is None:
            if len(self._streams) > 4 * len(STREAMS):
                self._streams = {k: v for k, v in self._streams.items() if k[0] == self.steps}
            seed = [*self._stream_words, *uint32_words(self.steps), STREAMS.index(purpose)]
            gen = np.random.default_rng(np.array(seed, dtype=np.uint32))
            self._streams[key] = gen
        return gen

    def climate(self) -> float:
        """The venture-capital climate this month (1 = normal), from the configured path:
        the scenario's multiplier of the venture pool's supply (abm.market.venture)."""
        vc = self.cfg.vc
        if not vc.climate_path:
            return vc.climate
        months, levels = zip(*sorted(vc.climate_path), strict=True)
        return float(np.interp(self.month, months, levels)) * vc.climate

    def cloud_shares(self) -> np.ndarray:
        """How labs split compute across clouds at today's posted prices."""
        prices = np.array([h.price for h in self.hyperscalers])
        return cloud_shares(prices, self.cfg.hyperscalers.buyer_price_sensitivity)

    def firm_states(self) -> list[dict[str, Any]]:
        """One row per firm (and segment) alive now, each given by the agent itself."""
        agents = (*self.vendors, *self.hyperscalers, *self.labs, *self.startups, *self.segments)
        return [a.firm_row() for a in agents]

    # ================================================================== the month
    def step(self) -> None:
        self.month = self.steps - 1
        self.date = month_label(self.cfg.simulation.start, self.month)
        self.ledger.start_step()
        self.supply.start_step(self.steps)
        for a in (*self.vendors, *self.hyperscalers, *self.labs):
            a.start_step()
        if self.own_use is not None:
            self.own_use.start_step()
        startup.start_step(self.startups)
        self.counters = {"entries": 0, "exits": 0, "acquisitions": 0, "defaults": 0}
        self.exited = []
        credit.remove_defaulted(self)  # firms that defaulted last month have left
        # 1. observe: posted prices and qualities, read from the sellers
        market = self.observe_market()
        # 2. demand, downstream to upstream
        orders = choose_and_order(self.segments, market, self.cfg.end_users, self.month)
        self.firms_total_token_orders(market, orders)
        shares = self.cloud_shares()  # how labs split compute at this month's posted prices
        self.labs_plan_compute(shares)
        own_use_queue = self._own_use_queue()  # the queue before this month's orders
        order_gpus_and_plan(self, shares)
        if self.own_use is not None:
            self.own_use.order(self.month, self.vendors, *own_use_queue)
        # 3. supply, upstream to downstream
        deliveries = ship_gpus(self)
        for h in self.hyperscalers:
            h.install_gpus()
        compute = clear_compute_market(self, shares)
        delivered = self.serve_tokens(market, orders)
        # 4. settle: cash only for what was delivered, along the graph's edges
        self.settle(delivered, compute, deliveries)
        # 5. prices for next step, from what each price setter just saw
        post_compute_prices(self, self.ratios)
        post_gpu_prices(self, self.ratios)
        post_token_prices(self, market, self.ratios)
        # 6. lifecycle
        self.lifecycle()
        # 7. collect
        self.metrics = compute_metrics(self)
        self.datacollector.collect(self)
        if self.record_flows:
            self.firm_log.extend({"step": self.steps, **row} for row in self.firm_states())

    def run(self, steps: int | None = None) -> ComputeMarket:
        """Step ``steps`` months (``simulation.steps`` when None); returns the model."""
        if steps is None:
            steps = self.cfg.simulation.steps
        elif isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
            raise TypeError(f"steps must be an integer number of months, got steps={steps!r}")
        elif steps < 0:
            raise ValueError(f"steps must be 0 or more, got steps={steps}")
        for _ in range(steps):
            self.step()
        return self

    # ------------------------------------------------------------------ 1. observe
    def observe_market(self) -> RetailMarket:
        """The retail market users see this month: posted prices, qualities, choices."""
        return observe_retail_market(
            self.labs, self.startups, [seg.cfg.app_affinity for seg in self.segments],
            self.cfg.end_users, self.cfg.model_developers, self.cfg.startups,
        )  # fmt: skip

    # ------------------------------------------------------------------ 2. demand
    def firms_total_token_orders(self, market: RetailMarket, orders: np.ndarray) -> None:
        """Startups pass their users' orders to their supplier; labs total both channels."""
        by_col = orders.sum(axis=0)
        # Python floats (tolist): numpy scalars would make every later sum a numpy one
        startup.take_orders(self.startups, by_col[market.n_labs :].tolist())
        # each lab's total: its own column's orders, then its resellers' in turn; bincount
        # adds its weights one by one in input order from 0, as take_orders would
        totals = np.bincount(market.source, weights=by_col, minlength=len(self.labs))
        for lab, q in zip(self.labs, totals.tolist(), strict=True):
            lab.take_orders(q)

    def labs_plan_compute(self, shares: np.ndarray) -> None:
        posted = float(shares @ np.array([h.price for h in self.hyperscalers]))
        for lab in self.labs:
            expected = lab.expected_compute_price(self.month)  # -- issue 11b: expect
            lab.plan_compute(self.month, lab.training_budget, posted, expected, lab.cash)

    def _own_use_queue(self) -> tuple:
        """How the own-use buyers split orders across vendors, the vendors' prices per
        H100e and their queue (months of backlog, by that split), read before any order
        of the month (as the clouds read them)."""
        if self.own_use is None:
            return ()
        prices = np.array([v.price_per_h100e for v in self.vendors])
        split = vendor_split(self.vendors, prices, self.cfg.hyperscalers)
        return split, prices, float(split @ [v.backlog_months for v in self.vendors])

    # ------------------------------------------------------------------ 3. supply
    def serve_tokens(self, market: RetailMarket, orders: np.ndarray) -> np.ndarray:
        """Tokens are served only as far as compute allows; shortfalls pass pro rata
        to every buyer of that lab, startups' users included. Returns mtok delivered
        by [segment, column]."""
        lab_fill = np.array([lab.fill for lab in self.labs])
        col_fill = lab_fill[market.source] if market.n_cols else np.zeros(0)
        for seg in self.segments:
            seg.receive(col_fill)
        delivered = orders * col_fill[None, :]
        startup.sell(self.startups, delivered[:, market.n_labs :].sum(axis=0).tolist())
        return delivered

    # ------------------------------------------------------------------ 4. settle
    def settle(self, delivered: np.ndarray, compute: np.ndarray, deliveries: list) -> None:
        """Every delivery is paid along its edge (see abm.market.settlement)."""
        ledger, graph = self.ledger, self.supply
        n_labs = len(self.labs)
        # end users (households) pay their providers for tokens delivered
        sellers = [*self.labs, *self.startups]
        revenue = np.zeros(len(sellers))
        if sellers:
            price = np.array([a.price for a in sellers])
            values = delivered * price[None, :]
            seg_idx, col_idx = (delivered > 0).nonzero()
            deliver_many(
                ledger, graph,
                np.array([a.unique_id for a in sellers])[col_idx].tolist(),
                np.array([g.unique_id for g in self.segments])[seg_idx].tolist(),
                delivered[seg_idx, col_idx], values[seg_idx, col_idx], "user_spend", "households",
            )  # fmt: skip
            revenue = values.sum(axis=0)
            startup.earn(self.startups, revenue[n_labs:].tolist())
        # startups pay their supplier lab for the tokens they resold
        lab_index = {lab.unique_id: i for i, lab in enumerate(self.labs)}
        resold = [s for s in self.startups if s.tokens_sold > 0]
        source, amounts = np.arange(n_labs), np.zeros(0)
        if resold:
            qty = np.array([s.tokens_sold for s in resold])
            supplier = [lab_index[s.supplier] for s in resold]
            amounts = qty * np.array([self.labs[i].price for i in supplier])
            deliver_many(
                ledger, graph, [s.supplier for s in resold], [s.unique_id for s in resold],
                qty, amounts, "wholesale_tokens", resold,
            )  # fmt: skip
            startup.paid_supplier(resold, amounts.tolist())
            source = np.concatenate((source, supplier))
        # each lab earns its users' spend, then its resellers' payments in turn: bincount
        # adds its weights one by one in input order from 0, as earn would
        earned = np.bincount(
            source, weights=np.concatenate((revenue[:n_labs], amounts)), minlength=n_labs
        )
        for lab, r in zip(self.labs, earned.tolist(), strict=True):
            lab.earn(r)
        # labs pay clouds for compute used; clouds pay for power and operations
        clouds = self.hyperscalers
        prices = [h.price for h in clouds]
        sellers, payers, qty, values, used_by_lab = [], [], [], [], []
        for lab, row in zip(self.labs, compute.tolist(), strict=True):
            used = [i for i, q in enumerate(row) if q > 0]
            sellers += [clouds[i].unique_id for i in used]
            payers += [lab] * len(used)
            qty += [row[i] for i in used]
            values += [row[i] * prices[i] for i in used]
            used_by_lab.append(used)
        # one call for every (lab, cloud) pair, lab by lab: each lab pays the clouds it
        # used in turn (a payer listed again), the same payments in the same order
        deliver_many(
            ledger,
            graph,
            sellers,
            [lab.unique_id for lab in payers],
            qty,
            values,
            "compute",
            payers,
        )
        k = 0
        for lab, used in zip(self.labs, used_by_lab, strict=True):
            paid = values[k : k + len(used)]
            for i, value in zip(used, paid, strict=True):
                clouds[i].earn(value)
            lab.paid_for_compute(float(sum(paid)))
            k += len(used)
        for h in self.hyperscalers:
            h.charge_parent()
            h.pay_energy()
        # clouds pay the vendor for GPUs delivered; the vendor pays the foundry
        for v, h, units in deliveries:
            value = units * v.price
            if h is self.own_use:  # -- 2023 shortage: their owners pay for their GPUs
                h.fund(value)
            deliver(ledger, graph, v.unique_id, h, units, value, "gpu_sales")
            h.bought_gpus(value)
            v.sold_gpus(units, value)

    # ------------------------------------------------------------------ 6. lifecycle
    def lifecycle(self) -> None:
        """Build and retire, expand and set the mix of generations, train and fund, burn, exit
        and enter."""
        for h in self.hyperscalers:
            h.build_retire_and_service_debt()
        for v in self.vendors:
            v.pay_running_costs()
            v.set_output_mix(self.month + 1)
        self.venture.take_in(self.climate())
        train_and_plan(self)
        startup.burn_and_ask(self, self.startups)
        seeds = hold_round(
            self.venture,
            [*self.labs, *self.startups],
            startup.founders(self, self.startups),
            self.cfg.startups.seed_round,
            startup.seed_limit(self),
        )
        budget_training(self)
        for lab in self.labs:  # -- issue 11b: vcdeploy, free cash flow to owners
            lab.pay_out()
        startup.pay_out(self, self.startups)
        self.startups, self.exited, acquired = startup.exit_or_carry_on(self, self.startups)
        # labs' models and prices stand from here to the month's end: startups reviewing
        # their supplier and founders picking one read the same utilities, computed once
        utility = startup.supplier_utility(self) if self.labs else None
        startup.review_suppliers(self, self.startups, utility)
        entries = startup.enter(self, self.startups, seeds, utility)
        revenue = sum(f.revenue for f in (*self.labs, *self.startups, *self.exited))
        self.venture.close_month(revenue, acquired, len(self.exited) - acquired, len(self.startups))
        defaults = credit.close_month(self)  # interest, EBITDA, insolvent firms cure or default
        self.counters = {
            "entries": entries, "exits": len(self.exited),
            "acquisitions": acquired, "defaults": defaults,
        }  # fmt: skip


def _reporter(name: str):
    return lambda m: m.metrics[name]


class MetricsCollector(mesa.DataCollector):
    """Mesa's DataCollector with one reporter per metric (``_reporter``), whose
    ``collect`` appends the month's values from ``model.metrics`` directly: what the
    reporters return, without the deep copy Mesa makes of each value to guard against
    mutable reports (these are numbers and the date string, immutable)."""

    def collect(self, model) -> None:
        metrics = model.metrics
        for name, values in self.model_vars.items():
            values.append(metrics[name])


__all__ = ["ComputeMarket", "NO_PROVIDER", "STREAMS", "month_label"]
