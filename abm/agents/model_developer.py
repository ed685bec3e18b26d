"""Model developers: frontier labs that train, and open-weight hosts that serve others' models."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
from scipy import sparse

from abm.agents.firm import Firm
from abm.config import ModelDeveloperConfig
from abm.market.demand import expected_sales, softmax
from abm.market.pricing import best_response
from abm.market.settlement import repay_debt, spend

FRONTIER, OPEN_WEIGHT = "frontier", "open_weight"


def training_gpu_hours(budget, price, trend_price, cash, elasticity):
    """GPU-hours of training a lab rents at ``price``: its budget at the trend price,
    scaled by ``(trend_price / price) ** elasticity``, and never more than its cash buys.
    Works on arrays (the clouds read their demand curve from it)."""
    price = np.asarray(price, dtype=float)
    wanted = np.asarray(budget, dtype=float) / trend_price * (trend_price / price) ** elasticity
    return np.minimum(wanted, np.maximum(cash, 0.0) / price)


def trend_compute_price(cfg, month: float) -> float:
    """The compute price labs expect from the hardware trend ($ per GPU-h) in ``month``."""
    mc = cfg.model_developers
    return cfg.hyperscalers.initial_compute_price / mc.compute_price_trend_per_year ** (
        month / 12.0
    )


def cloud_shares(prices: np.ndarray, price_sensitivity: float) -> np.ndarray:
    """How a lab splits its compute across clouds: logit on their posted prices
    ($ per GPU-h). Works on arrays of candidate prices (last axis: clouds)."""
    return softmax(-price_sensitivity * np.log(prices))


class ModelDeveloper(Firm):
    """A lab. Quality is log10 of the effective training compute (H100e GPU-hours
    times the algorithmic-efficiency multiplier) of its latest model; serving
    efficiency is tokens per GPU-hour, worse for bigger (better) models and better
    every year through algorithms; the token price ($ per million tokens) is set by
    profit seeking against the demand the lab reads from its market research."""

    layer = "model_developer"

    def __init__(
        self,
        model,
        cfg: ModelDeveloperConfig,
        kind: str,
        quality: float,
        price: float,
        run_share: float,
        training_budget: float,
    ) -> None:
        super().__init__(model)
        self.cfg = cfg
        self.kind = kind
        self.name = f"{'lab' if kind == FRONTIER else 'open'}-{self.unique_id}"
        self.training_budget = training_budget if kind == FRONTIER else 0.0  # $ per month
        self.unit_cost_basis = 0.0  # $ per mtok of serving its last price was chosen against
        # $ spent on training in each of the last training_window_months: the cost of the
        # model it serves, spread over as many months as it took to train (for reporting)
        self.training_spend: deque[float] = deque(
            [self.training_budget] * cfg.training_window_months, maxlen=cfg.training_window_months
        )
        self.staff_paid = 0.0  # $ this month
        self.quality = quality
        self.initial_quality = quality
        self.price = price
        self.run_share = run_share  # share of the training window's compute in the released model
        # past training compute consistent with today's quality
        per_month = 10.0**quality / run_share / cfg.training_window_months
        self.training_window: deque[float] = deque(
            [per_month] * cfg.training_window_months, maxlen=cfg.training_window_months
        )
        self.start_step()

    def start_step(self) -> None:
        self.token_orders = 0.0  # mtok asked of it (direct users and resellers)
        self.tokens_sold = 0.0
        self.fill = 1.0  # share of token orders it could serve
        self.serving_request = 0.0  # GPU-h
        self.training_request = 0.0
        self.compute_received = 0.0
        self.serving_gpu_hours = 0.0
        self.training_gpu_hours = 0.0
        self.revenue = 0.0
        self.serving_cost = 0.0
        self.training_cost = 0.0
        self.compute_unit_cost = 0.0  # $ per GPU-h paid this step
        self.staff_paid = 0.0

    # ---------------------------------------------------------------- economics
    @property
    def is_frontier(self) -> bool:
        return self.kind == FRONTIER

    def tokens_per_gpu_hour(self, months: float) -> float:
        """Serving efficiency, tokens per H100e GPU-hour.

        Serving cost grows with model size, and size with the *raw* training compute
        (``size_cost_exponent``: Chinchilla-optimal parameters grow as compute^0.5).
        Raw compute is effective compute (10^quality) over the training-algorithm
        multiplier, so a model of a given quality gets smaller every year; on top of
        that, serving software (batching, quantisation, speculative decoding) improves
        throughput every year."""
        c = self.cfg
        years = months / 12.0
        raw_quality = self.quality - years * np.log10(c.training_algo_gain_per_year)
        return (
            c.tokens_per_gpu_hour
            * 10.0 ** (-c.size_cost_exponent * (raw_quality - c.reference_quality))
            * c.serving_algo_gain_per_year**years
        )

    def serving_cost_per_mtok(self, compute_price: float, months: float) -> float:
        return compute_price * 1e6 / self.tokens_per_gpu_hour(months)

    # ---------------------------------------------------------------- step 2: demand
    def plan_compute(
        self,
        months: float,
        training_budget: float,
        compute_price: float,
        trend_price: float,
        cash: float,
    ) -> None:
        """GPU-hours to rent: what this month's token orders need, plus training.

        Training runs are planned in GPU-hours at the price the hardware trend leads
        labs to expect (``trend_price``); dearer compute shrinks them more than
        proportionally and cheaper compute enlarges them (``training_price_elasticity``),
        never spending more than the lab's cash."""
        self.serving_request = self.token_orders * 1e6 / self.tokens_per_gpu_hour(months)
        budget = training_budget if self.is_frontier else 0.0
        self.training_request = float(
            training_gpu_hours(
                budget, compute_price, trend_price, cash, self.cfg.training_price_elasticity
            )
        )

    # ---------------------------------------------------------------- step 3: supply
    def use_compute(self, received: float, months: float) -> None:
        """Serving first, training gets the rest. Sets the fill rate of token orders."""
        self.compute_received = received
        self.serving_gpu_hours = min(received, self.serving_request)
        self.training_gpu_hours = max(received - self.serving_gpu_hours, 0.0)
        self.fill = (
            self.serving_gpu_hours / self.serving_request if self.serving_request > 0 else 1.0
        )
        self.tokens_sold = self.token_orders * self.fill

    # ---------------------------------------------------------------- step 6: lifecycle
    def train(self, algo_multiplier: float) -> None:
        """Quality follows the effective compute of the training window; models never get worse."""
        if not self.is_frontier:
            return
        self.training_spend.append(self.training_cost)
        self.training_window.append(self.training_gpu_hours * algo_multiplier)
        effective = sum(self.training_window) * self.run_share
        if effective > 0:
            self.quality = max(self.quality, float(np.log10(effective)))

    def follow_open_frontier(self, frontier_quality: float) -> None:
        """Open-weight models trail the best frontier model by ``open_weight_gap``."""
        if not self.is_frontier:
            self.quality = max(self.quality, frontier_quality - self.cfg.open_weight_gap)

    @property
    def compute_request(self) -> float:
        """GPU-h it asks the clouds for this month: serving plus training."""
        return self.serving_request + self.training_request

    @property
    def amortised_training(self) -> float:
        """$ per month: the training spend of the last ``training_window_months`` spread
        evenly over as many months (a model's cost over its serving life)."""
        return sum(self.training_spend) / len(self.training_spend) if self.training_spend else 0.0

    def post_price(self, price: float, unit_cost: float) -> None:
        """Next month's token price, chosen against ``unit_cost`` ($ per mtok of serving)."""
        self.price = price
        self.unit_cost_basis = unit_cost

    def pay_staff_and_raise(self, best_quality: float, climate: float) -> None:
        """Pay staff out of cash, review the training budget against the runway, raise
        a round when the runway is short, and repay credit-line debt out of cash.

        Training budgets grow while the runway is comfortable and shrink when it is
        not. Investors back the leaders: the chance of a round falls with the gap to
        the best model, and a round is sized by the runway it buys but capped by what
        the lab earns."""
        mc, vc, ledger = self.cfg, self.model.cfg.vc, self.model.ledger
        staff = mc.staff_cost_per_month * (1.0 if self.is_frontier else 0.2)
        self.staff_paid = spend(ledger, self, "households", staff, "lab_staff")
        cash = self.cash
        burn = self.training_cost + self.serving_cost + staff - self.revenue
        runway = cash / burn if burn > 0 else math.inf
        if self.is_frontier:
            if runway > 0.75 * vc.lab_raise_runway_months:
                self.training_budget *= 1.0 + mc.training_budget_growth_per_month
            elif runway < 0.5 * vc.lab_raise_runway_months:
                self.training_budget *= 0.9
        if runway < vc.lab_raise_runway_months:
            standing = math.exp(-(best_quality - self.quality))
            chance = min(1.0, vc.lab_round_probability * climate * standing)
            if self.model.stream("vc").random() < chance:
                wanted = vc.lab_round_runway_months * max(burn, self.training_budget, staff)
                cap = climate * (
                    vc.lab_round_base + vc.lab_round_revenue_multiple * 12.0 * self.revenue
                )
                ledger.transfer("venture_capital", self.unique_id, min(wanted, cap), "vc_labs")
        self.repaid(repay_debt(ledger, self, self.debt, reserve=0.0, share=1.0))

    # ---------------------------------------------------------------- step 4: settle
    def take_orders(self, mtok: float) -> None:
        """Token orders this month: its direct users' and its resellers' (mtok)."""
        self.token_orders += mtok

    def earn(self, revenue: float) -> None:
        self.revenue += revenue

    def paid_for_compute(self, paid: float) -> None:
        """What its compute cost this month, split between serving and training."""
        self.compute_unit_cost = paid / self.compute_received if self.compute_received > 0 else 0.0
        self.serving_cost = self.serving_gpu_hours * self.compute_unit_cost
        self.training_cost = self.training_gpu_hours * self.compute_unit_cost

    def firm_row(self) -> dict[str, Any]:
        return {
            **super().firm_row(),
            "price": self.price,
            "quality": self.quality,
            "kind": self.kind,
            "revenue": self.revenue,
            "tokens_sold": self.tokens_sold,
        }


def found_labs(model, rng: np.random.Generator) -> list[ModelDeveloper]:
    """The labs of January 2023, each able to rent from every cloud.

    A frontier lab's quality is explained by a training run under way: its budget
    (a share of its cash) over the training window at the initial compute price
    buys the effective compute that its quality stands for. Open-weight hosts serve
    a model ``open_weight_gap`` behind the best frontier model."""
    cfg = model.cfg
    mc, price0 = cfg.model_developers, cfg.hyperscalers.initial_compute_price
    labs = []
    for i in range(mc.frontier_count):
        spread = mc.quality_spread * i / max(mc.frontier_count - 1, 1) if i else 0.0
        q = mc.initial_quality - spread
        cash = mc.initial_cash_frontier * float(rng.lognormal(0.0, 0.3))
        budget = cash * mc.training_spend_rate
        window = mc.training_window_months * budget / price0
        run_share = 10.0**q / window if budget > 0 else 1.0
        lab = ModelDeveloper(model, mc, FRONTIER, q, mc.initial_price_frontier, run_share, budget)
        labs.append(lab)
        lab.open_account("venture_capital", cash)
    best = max((lab.quality for lab in labs), default=mc.initial_quality)
    for _ in range(mc.open_weight_hosts):
        q = best - mc.open_weight_gap
        lab = ModelDeveloper(model, mc, OPEN_WEIGHT, q, mc.initial_price_open, 1.0, 0.0)
        labs.append(lab)
        lab.open_account("venture_capital", mc.initial_cash_open)
    for lab in labs:
        for h in model.hyperscalers:
            model.supply.connect(h.unique_id, lab.unique_id)
    return labs


def post_token_prices(model, market, ratios: np.ndarray) -> None:
    """Labs and startups best-respond to today's prices, each reading the demand it
    would face from the segments' market-research panels. A lab moves its own
    column and its resellers' retail prices (their markups ride on its price)."""
    from abm.agents.startup import set_markups

    labs, startups = model.labs, model.startups
    n_labs, n_cols = len(labs), market.n_cols
    if n_cols == 0:
        return
    uc = model.cfg.end_users
    col_x = market.price / market.quality_factor
    # the grid covers every price a firm is considering, quality-adjusted
    span = np.log(ratios[-1]) + 0.05
    log_x_grid = np.linspace(np.log(col_x.min()) - span, np.log(col_x.max()) + span, 48)
    curves = np.stack(
        [seg.demand_curve(log_x_grid, market.quality_factor) for seg in model.segments]
    )
    # who moves which column: each seller its own, and a lab its resellers' too
    rows = list(range(n_labs)) + [n_labs + i for i in range(len(startups))]
    cols = list(range(n_labs)) + [n_labs + i for i in range(len(startups))]
    lab_index = {lab.unique_id: i for i, lab in enumerate(labs)}
    rows += [lab_index[s.supplier] for s in startups]
    cols += [n_labs + i for i in range(len(startups))]
    membership = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_cols, n_cols))
    quantity = expected_sales(
        market.choice, curves, log_x_grid, col_x, membership, ratios, uc.price_sensitivity
    )
    shares = cloud_shares(
        np.array([h.price for h in model.hyperscalers]),
        model.cfg.hyperscalers.buyer_price_sensitivity,
    )
    posted = float(shares @ np.array([h.price for h in model.hyperscalers]))
    lab_cost = np.array(
        [lab.serving_cost_per_mtok(lab.compute_unit_cost or posted, model.month) for lab in labs]
    )
    supplier_price = np.array([labs[lab_index[s.supplier]].price for s in startups])
    cost = np.r_[lab_cost, supplier_price]
    new = best_response(
        market.price,
        cost,
        ratios,
        quantity,
        np.r_[
            np.full(n_labs, model.cfg.model_developers.price_adjustment),
            np.full(len(startups), model.cfg.startups.markup_adjustment),
        ],
        floor=np.r_[np.full(n_labs, 1e-6), supplier_price],
    )
    for lab, p, c in zip(labs, new[:n_labs].tolist(), lab_cost.tolist(), strict=True):
        lab.post_price(p, c)
    if startups:
        supplier_new = np.array([labs[lab_index[s.supplier]].price for s in startups])
        set_markups(startups, new[n_labs:], supplier_price, supplier_new)


def train_and_fund(model, climate: float) -> None:
    """The labs' month end: training runs add to quality, open-weight hosts follow
    the frontier, and every lab pays staff, reviews its budget and raises if short."""
    labs = model.labs
    algo = model.cfg.model_developers.training_algo_gain_per_year ** (model.month / 12.0)
    for lab in labs:
        lab.train(algo)
    best_frontier = max((lab.quality for lab in labs if lab.is_frontier), default=None)
    best_all = max(lab.quality for lab in labs)
    for lab in labs:
        if best_frontier is not None:
            lab.follow_open_frontier(best_frontier)
        lab.pay_staff_and_raise(best_all, climate)
