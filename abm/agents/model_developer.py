"""Model developers: frontier labs that train, their distilled tiers, and open-weight hosts
that serve others' models."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from abm.agents.end_users import _distinct
from abm.agents.firm import Firm
from abm.config import ModelDeveloperConfig
from abm.market import serving
from abm.market.demand import OwnAndSupplier, expected_sales, softmax
from abm.market.pricing import best_response
from abm.market.settlement import pay, repay_debt, spend

FRONTIER, OPEN_WEIGHT, DISTILLED = "frontier", "open_weight", "distilled"


def training_gpu_hours(budget, price, expected_price, cash, elasticity):
    """GPU-hours of training a lab rents at ``price``: its budget at the price it
    expected, scaled by ``(expected_price / price) ** elasticity``, and never more than
    its cash buys. Works on arrays (the clouds read their demand curve from it)."""
    price = np.asarray(price, dtype=float)
    expected_price = np.asarray(expected_price, dtype=float)
    wanted = (
        np.asarray(budget, dtype=float) / expected_price * (expected_price / price) ** elasticity
    )
    return np.minimum(wanted, np.maximum(cash, 0.0) / price)


# -- issue 11b: expect
def hardware_price_trend(gpu) -> float:
    """Monthly log change of the compute price the GPU roadmap implies: each generation
    (every ``release_interval_months``) gives ``perf_gain_per_generation`` more H100e per
    part at ``cost_growth_per_generation`` the price, so a GPU-hour's cost falls by their
    ratio. Labs' prior on the trend before they have seen any price (month 0 only)."""
    ratio = gpu.perf_gain_per_generation / gpu.cost_growth_per_generation
    return -math.log(ratio) / gpu.release_interval_months


def holt_update(level, trend, observed, alpha, beta, cap):
    """One month of Holt's linear exponential smoothing (in logs): the level moves
    ``alpha`` of the way from last month's forecast (``level + trend``) to the
    ``observed`` log price, and the trend ``beta`` of the way to the level's change,
    bounded to [-cap, cap] (log change per month)."""
    new_level = alpha * observed + (1.0 - alpha) * (level + trend)
    new_trend = beta * (new_level - level) + (1.0 - beta) * trend
    return new_level, min(max(new_trend, -cap), cap)


def cloud_shares(prices: np.ndarray, price_sensitivity: float) -> np.ndarray:
    """How a lab splits its compute across clouds: logit on their posted prices
    ($ per GPU-h). Works on arrays of candidate prices (last axis: clouds)."""
    return softmax(-price_sensitivity * np.log(prices))


# ---------------------------------------------------------------- training as investment
def pv_factor(life: float, delay: float, growth: float, discount: float) -> float:
    """Months of today's revenue a model earns, discounted: the integral of
    ``exp((growth - discount) t)`` from ``delay`` to ``delay + life`` (monthly rates)."""
    k = growth - discount
    if abs(k) < 1e-12:
        return life
    return (math.exp(k * (delay + life)) - math.exp(k * delay)) / k


def within_class_quality_weight(uc) -> float:
    """Logit utility per quality unit between a frontier lab's model and its rivals'
    as users weigh it: ``quality_sensitivity``, divided by the nest dissimilarity
    lambda under the nested logit (its rivals are in its capability class, where
    utilities count 1/lambda times)."""
    return (
        uc.quality_sensitivity / uc.nest_dissimilarity
        if uc.nested_choice
        else uc.quality_sensitivity
    )


def defended_share(share: float, rival_gain: float) -> float:
    """A lab's logit share once its rivals' models have gained ``rival_gain`` in
    utility and its own has not moved (what it stands to defend)."""
    if share <= 0:
        return 0.0
    return share / (share + (1.0 - share) * math.exp(rival_gain))


def bought_share(defended: float, gamma: float, ratio):
    """A lab's logit share when its new model is ``ratio`` times the effective compute
    of the one it serves (``ratio >= 1``) and its share without a new model would be
    ``defended``: its odds grow as ``ratio ** gamma``. Works on a float or an array of
    ratios (the search over budgets)."""
    odds = defended / (1.0 - defended) * ratio**gamma
    return odds / (1.0 + odds)


def best_training_budget(
    value: float, defended: float, gamma: float, window: float, keep_up: float
) -> float:
    """$ per month of training that maximises ``value * s(B) - window * B``: the
    present value of the lab's share of the market's margin over its next model's life,
    less the run's cost.

    A budget below ``keep_up`` (the budget whose run would only match the model it
    already serves) buys nothing: models never get worse, and the lab keeps the
    ``defended`` share. Above it, the share is :func:`bought_share` of ``B /
    keep_up``. Because logit odds grow as ``B ** gamma`` with ``gamma > 1``, the
    objective is convex for a small share and concave for a large one, so the
    first-order condition ``value * gamma * s (1 - s) = window * B`` can mark a minimum;
    the lab compares every budget, not only a local condition (a global best response
    in a Tullock contest: Tullock 1980; Perez-Castrillo & Verdier 1992). Every interior
    optimum satisfies that condition, and ``s (1 - s) <= 1/4`` bounds it at ``gamma *
    value / (4 * window)``, so the search runs from ``keep_up`` to that bound and is
    refined by bisection on the condition. Returns 0 when no run pays."""
    if value <= 0 or window <= 0 or keep_up <= 0 or not 0.0 < defended < 1.0:
        return 0.0
    ceiling = gamma * value / (4.0 * window)
    if ceiling <= keep_up:
        return 0.0
    u = np.linspace(0.0, math.log(ceiling / keep_up), _BUDGET_GRID)
    profit = value * bought_share(defended, gamma, np.exp(u)) - window * keep_up * np.exp(u)
    k = int(np.argmax(profit))

    def excess(x: float) -> float:  # marginal value over marginal cost, in logs
        s = bought_share(defended, gamma, math.exp(x))
        return math.log(gamma * value * s * (1.0 - s)) - math.log(window * keep_up) - x

    lo, hi = float(u[max(k - 1, 0)]), float(u[min(k + 1, len(u) - 1)])
    best = float(u[k])
    if excess(lo) > 0.0 > excess(hi):
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if mid in (lo, hi):
                # lo and hi are adjacent floats: each further step would leave them as
                # they are (excess(lo) > 0 keeps lo, excess(hi) <= 0 keeps hi), so the
                # 60 steps end here
                break
            lo, hi = (mid, hi) if excess(mid) > 0.0 else (lo, mid)
        best = 0.5 * (lo + hi)
    budget = keep_up * math.exp(best)
    gain = value * bought_share(defended, gamma, math.exp(best)) - window * budget
    return budget if gain > value * defended else 0.0


_BUDGET_GRID = 64  # candidate budgets (log-spaced) before refining the best one


class ModelDeveloper(Firm):
    """A lab. Quality is log10 of the effective training compute (H100e GPU-hours
    times the algorithmic-efficiency multiplier) of its latest model; its size
    (active parameters) follows from the raw compute of that model, and serving
    efficiency (tokens per GPU-hour) falls with size and rises with serving software,
    never above the hardware bound (:mod:`abm.market.serving`); the token price ($
    per million tokens) is set by profit seeking against the demand the lab reads
    from its market research."""

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
        self.desired_budget = self.training_budget  # $ per month before financing
        # the scale ($ per month) planned for each of its overlapping runs, newest last:
        # one run starts each month and lasts a training window (see plan_training)
        self.run_plans: deque[float] = deque(maxlen=cfg.training_window_months)
        # beliefs the lab updates each month from what it observes (see plan_training)
        self.expected_market = 0.0  # $ per month: all labs' revenue
        self.expected_share = 0.0  # its share of it
        growth = cfg.expected_growth_prior_per_year
        self.expected_growth = math.log(growth) / 12.0  # monthly log growth of the market
        # what it sees of its frontier rivals at the month's end: each one's quality, the
        # share of a window's compute its models hold, and its training programme ($ a
        # month): see observe_rivals
        self.rivals: list[tuple[float, float, float]] = []
        self.investor_growth = 0.0  # log revenue growth per year investors extrapolate
        # -- issue 11b: expect. Expected compute price: a level and a trend (log $ per
        # GPU-h, log change per month), the hardware roadmap its prior in month 0 only
        self.price_trend = min(
            max(hardware_price_trend(model.cfg.gpu), -self.trend_cap), self.trend_cap
        )
        self.price_level = math.log(model.cfg.hyperscalers.initial_compute_price) - self.price_trend
        self.price_month = -1.0  # month of the last observation (the prior: month -1)
        self.planned_compute_price = math.exp(self.price_level + self.price_trend)  # $ per GPU-h
        self.ask = 0.0  # $ it asks the venture pool for this month
        self.raised = 0.0  # $ raised this month
        self.last_market_revenue = 0.0  # $ per month, all labs, last month
        self.last_revenue = 0.0  # $ per month, its own, last month
        self.unit_cost_basis = 0.0  # $ per mtok of serving its last price was chosen against
        # $ spent on training in each of the last model_life_months: each month's spend
        # is expensed evenly over a model's serving life (for the operating margin)
        life = max(int(round(cfg.model_life_months)), 1)
        self.training_spend: deque[float] = deque([self.training_budget] * life, maxlen=life)
        self.staff_paid = 0.0  # $ this month
        self.quality = quality
        self.initial_quality = quality
        self.price = price
        self.run_share = run_share  # share of the training window's compute in the released model
        self.tiers: list[ModelDeveloper] = []  # its distilled tiers (see DistilledTier)
        # past training compute consistent with today's quality
        per_month = 10.0**quality / run_share / cfg.training_window_months
        self.training_window: deque[float] = deque(
            [per_month] * cfg.training_window_months, maxlen=cfg.training_window_months
        )
        # -- issue 11: serving. The model's size is fixed when it is trained: it is
        # re-derived only when its quality changes (at that month's algorithms).
        self.sized_quality = math.nan  # quality at which ``active`` was derived
        self.active = 0.0  # active parameters of the model it serves
        self._bound_memo: tuple = (None, 0.0)  # (active, serving_bound)
        self._throughput_memo: tuple = (None, 0.0)  # ((months, active), tokens_per_gpu_second)
        # active parameters of the reference model (reference_quality in month 0): its
        # throughput is the yardstick every month's is scaled from (config constants)
        self._reference_active = float(
            serving.active_params(cfg.reference_quality, 1.0, model.cfg.serving)
        )
        self.serving_active = 0.0  # active parameters of the model it served this month
        self.served_tokens_per_second = 0.0  # per H100e, this month (set by plan_serving)
        self.bound_tokens_per_second = 0.0  # its hardware bound, the same month
        self.start_step()
        self.plan_serving(0.0)

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
        self.ask = 0.0
        self.raised = 0.0

    # ---------------------------------------------------------------- economics
    @property
    def is_frontier(self) -> bool:
        return self.kind == FRONTIER

    # -- issue 11, nested choice: capability classes
    @property
    def capability_class(self) -> int:
        """Its nest in users' nested logit: 0 frontier, a distilled tier its rank (1, 2,
        ...), open weights after every tier (a large number; the market numbers the
        classes present in order)."""
        return 0 if self.kind == FRONTIER else 1000

    # -- issue 11: serving
    def active_params(self, months: float) -> float:
        """Active parameters of the model it serves: derived from its raw training
        compute when its quality last changed, at that month's algorithmic multiplier.
        A model does not shrink after it is trained; a better model is a new size."""
        if self.quality != self.sized_quality:
            algo = self.cfg.training_algo_gain_per_year ** (months / 12.0)
            self.active = float(serving.active_params(self.quality, algo, self.model.cfg.serving))
            self.sized_quality = self.quality
        return self.active

    def serving_bound(self, months: float) -> float:
        """The hardware bound on its decode throughput, tokens/s per H100e."""
        active = self.active_params(months)
        if self._bound_memo[0] != active:  # a pure function of the model's size
            bound = serving.bound_tokens_per_second(active, self.model.cfg.serving)
            self._bound_memo = (active, float(bound))
        return self._bound_memo[1]

    def tokens_per_gpu_second(self, months: float) -> float:
        """Served throughput, tokens/s per H100e: the practical throughput of the
        reference model (``tokens_per_gpu_hour`` at ``reference_quality`` in month 0)
        scaled by 1/active parameters and grown by serving software, never above the
        model's hardware bound."""
        # a pure function of the month and the model's size, asked several times a month
        # (planning, pricing, margins): computed once per (month, size)
        key = (months, self.active_params(months))
        if self._throughput_memo[0] != key:
            c = self.cfg
            practical = serving.practical_tokens_per_second(
                key[1],
                self._reference_active,
                c.tokens_per_gpu_hour,
                c.serving_algo_gain_per_year,
                months / 12.0,
            )
            served = serving.served_tokens_per_second(practical, self.serving_bound(months))
            self._throughput_memo = (key, float(served))
        return self._throughput_memo[1]

    def tokens_per_gpu_hour(self, months: float) -> float:
        """Serving efficiency, tokens per H100e GPU-hour."""
        return serving.SECONDS_PER_HOUR * self.tokens_per_gpu_second(months)

    def serving_cost_per_mtok(self, compute_price: float, months: float) -> float:
        return compute_price * 1e6 / self.tokens_per_gpu_hour(months)

    def plan_serving(self, months: float) -> None:
        """GPU-h this month's token orders need, at this month's served throughput,
        which it records with its bound (the invariant checks one against the other)."""
        self.served_tokens_per_second = self.tokens_per_gpu_second(months)
        self.bound_tokens_per_second = self.serving_bound(months)
        self.serving_active = self.active  # size of the model served this month
        self.serving_request = (
            self.token_orders * 1e6 / (serving.SECONDS_PER_HOUR * self.served_tokens_per_second)
        )

    # ---------------------------------------------------------------- step 2: demand
    def plan_compute(
        self,
        months: float,
        training_budget: float,
        compute_price: float,
        expected_price: float,
        cash: float,
    ) -> None:
        """GPU-hours to rent: what this month's token orders need, plus training.

        Training runs are planned in GPU-hours at the price the lab expected for this
        month (``expected_price``); compute dearer than expected shrinks them more than
        proportionally and cheaper compute enlarges them (``training_price_elasticity``),
        never spending more than the lab's cash."""
        self.plan_serving(months)
        self.planned_compute_price = expected_price  # -- issue 11b: expect
        budget = training_budget if self.is_frontier else 0.0
        self.training_request = float(
            training_gpu_hours(
                budget, compute_price, expected_price, cash, self.cfg.training_price_elasticity
            )
        )

    # ---------------------------------------------------------------- step 3: supply
    def use_compute(self, received: float, months: float, training: float | None = None) -> None:
        """Serving first, training gets the rest. Sets the fill rate of token orders.

        ``training``: the GPU-h of ``received`` the clouds filled for training (the market
        clears serving and training apart), so no rounding residue of the difference is
        counted as training; serving is the rest, within its request (its fill can then
        read 1 - 1e-9 where serving was met in full). Without it, serving is filled first."""
        self.compute_received = received
        if training is None:
            self.serving_gpu_hours = min(received, self.serving_request)
            self.training_gpu_hours = max(received - self.serving_gpu_hours, 0.0)
        else:
            self.training_gpu_hours = training
            self.serving_gpu_hours = min(max(received - training, 0.0), self.serving_request)
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
        """$ per month: each month's training spend straight-line amortised over a
        model's serving life (``model_life_months``): the mean of the last L months."""
        return sum(self.training_spend) / self.training_spend.maxlen if self.training_spend else 0.0

    def post_price(self, price: float, unit_cost: float) -> None:
        """Next month's token price, chosen against ``unit_cost`` ($ per mtok of serving)."""
        self.price = price
        self.unit_cost_basis = unit_cost

    @property
    def staff_cost(self) -> float:
        """$ per month of staff (open-weight hosts employ a fifth as many)."""
        return self.cfg.staff_cost_per_month * (1.0 if self.is_frontier else 0.2)

    def pay_staff(self) -> None:
        """Staff are paid out of cash."""
        self.staff_paid = spend(self.model.ledger, self, "households", self.staff_cost, "lab_staff")

    def observe_market(self, market_revenue: float) -> None:
        """Update its beliefs: the labs' revenue, its share of it and the market's growth
        (adaptive expectations)."""
        mc, w = self.cfg, self.cfg.expectation_weight
        cap = math.log(mc.max_expected_growth_per_year) / 12.0
        if self.last_market_revenue > 0 and market_revenue > 0:
            growth = math.log(market_revenue / self.last_market_revenue)
            self.expected_growth = (1 - w) * self.expected_growth + w * growth
            self.expected_growth = min(max(self.expected_growth, -cap), cap)
        if market_revenue > 0:
            share = self.group_revenue / market_revenue
            self.expected_market = (1 - w) * self.expected_market + w * market_revenue
            self.expected_share = (1 - w) * self.expected_share + w * share
        self.last_market_revenue = market_revenue

    @property
    def programme(self) -> float:
        """$ a month: what it spent on training over the last training window (or the
        model's life, if shorter), as its rivals see it (cloud contracts and cluster
        build-outs are reported). The mean of a window, not last month's bill, so that a
        month of rationed compute does not read as a change of plan."""
        window = int(self.cfg.training_window_months)
        recent = list(self.training_spend)[-window:]
        return sum(recent) / len(recent) if recent else 0.0

    def observe_rivals(self, rivals: list[tuple[float, float, float]]) -> None:
        """What it sees of its frontier rivals: for each, ``(quality, run_share,
        programme)`` (:attr:`programme`)."""
        self.rivals = rivals

    def frontier_move(self, months: float) -> float:
        """How far (log10 effective compute) it expects its rivals to move the frontier
        by the time its next model is half way through its life: each rival keeps its
        current programme, and the model it then serves comes from a run centred at
        ``months`` (at this lab's expected compute price and that month's algorithms).
        A rival's quality never falls, and a rival without a programme stays where it is
        (fictitious play: each player best-responds to its rivals' observed strategies,
        Brown 1951; Fudenberg & Levine 1998)."""
        if not self.rivals:
            return 0.0
        mc = self.cfg
        algo = mc.training_algo_gain_per_year ** (months / 12.0)
        per_dollar = mc.training_window_months * algo / self.expected_compute_price(months)
        now = max(q for q, _, _ in self.rivals)
        later = max(
            max(q, math.log10(run_share * b * per_dollar)) if b > 0 else q
            for q, run_share, b in self.rivals
        )
        return later - now

    # -- issue 11b: expect
    @property
    def trend_cap(self) -> float:
        """Bound on the expected price trend, log change per month."""
        return math.log(self.cfg.max_compute_price_trend_per_year) / 12.0

    def expected_compute_price(self, months: float) -> float:
        """The compute price ($ per GPU-h) it expects in ``months``: its smoothed level
        extrapolated along its smoothed trend from the month it last paid for compute."""
        return math.exp(self.price_level + (months - self.price_month) * self.price_trend)

    def observe_compute_price(self, months: float) -> None:
        """Update its expected compute price from what it paid this month ($ per GPU-h,
        all clouds): Holt's linear smoothing in logs (:func:`holt_update`). A month it
        rented nothing tells it nothing: its forecast runs on along the trend."""
        if self.compute_received <= 0 or self.compute_unit_cost <= 0:
            return
        mc = self.cfg
        steps = months - self.price_month  # months since it last paid (1 but after gaps)
        level, trend = holt_update(
            self.price_level + (steps - 1.0) * self.price_trend,
            self.price_trend,
            math.log(self.compute_unit_cost),
            mc.compute_price_level_weight,
            mc.compute_price_trend_weight,
            self.trend_cap,
        )
        self.price_level, self.price_trend, self.price_month = level, trend, months

    @property
    def group_revenue(self) -> float:
        """$ this month of its own column and its distilled tiers' (a frontier model's
        training improves its tiers too, so the lab weighs the group's share)."""
        return self.revenue + sum(t.revenue for t in self.tiers)

    def expected_margin(self, price: float, months: float) -> float:
        """Share of a token's price left after serving it at ``price`` ($ per GPU-h)."""
        return min(max(1.0 - self.serving_cost_per_mtok(price, months) / self.price, 0.0), 1.0)

    def plan_training(self, months: float) -> float:
        """This month's training budget ($ per month, at the compute price it expects):
        the mean scale of its overlapping runs.

        A lab's training is a programme of runs, each lasting a training window ``W``;
        one run ends and the next starts every month, at the scale that is best then
        (:meth:`training_plan`), so the month's spending is the mean of the last ``W``
        plans (time to build: spending is spread over the stages of projects started in
        each of the last ``W`` periods, Kydland & Prescott 1982). Before the run, its
        past plans are the one it makes in January 2023. Open-weight hosts do not train."""
        plan = self.training_plan(months)
        if not self.run_plans:
            self.run_plans.extend([plan] * self.run_plans.maxlen)
        else:
            self.run_plans.append(plan)
        self.desired_budget = sum(self.run_plans) / len(self.run_plans)
        return self.desired_budget

    def training_plan(self, months: float) -> float:
        """The scale ($ per month over a training window) of a run started now that
        maximises the present value its model earns in the lab's own logit demand system
        less the run's cost (:func:`best_training_budget`), against the share it would
        keep without a new model once its rivals' programmes have moved the frontier on,
        half way through the new model's life (:meth:`frontier_move`,
        :func:`defended_share`). Zero for open-weight hosts."""
        mc = self.cfg
        if not self.is_frontier or mc.model_life_months <= 0:
            return 0.0
        w = mc.training_window_months
        mid = months + w / 2.0
        price = self.expected_compute_price(mid)
        discount = math.log1p(mc.discount_rate_per_year) / 12.0
        life = mc.model_life_months
        value = (
            pv_factor(life, w, self.expected_growth, discount)
            * self.expected_margin(price, mid)
            * self.expected_market
        )
        beta = within_class_quality_weight(self.model.cfg.end_users)  # utility per log10
        gamma = beta / math.log(10.0)
        rival_gain = beta * self.frontier_move(mid + life / 2.0)
        share = defended_share(self.expected_share, rival_gain)
        return best_training_budget(value, share, gamma, w, self.keep_up(mid))

    def keep_up(self, months: float) -> float:
        """$ per month of training whose run (a training window at the compute price it
        expects for ``months``, at that month's algorithms) would just match the quality
        of the model it serves: less buys no better model."""
        mc = self.cfg
        algo = mc.training_algo_gain_per_year ** (months / 12.0)
        compute = 10.0**self.quality / (self.run_share * mc.training_window_months * algo)
        return self.expected_compute_price(months) * compute

    def expected_operating_profit(self, months: float) -> float:
        """$ per month its tokens are expected to earn over serving them, less staff."""
        price = self.expected_compute_price(months)
        margin = self.expected_margin(price, months) * self.expected_share * self.expected_market
        return margin - self.staff_cost

    def ask_for_round(self, months: float) -> float:
        """When its planned burn leaves less than ``lab_raise_runway_months`` of runway,
        it asks investors for ``lab_round_runway_months`` of that burn, less its cash."""
        vc = self.model.cfg.vc
        burn = self.planned_net_burn(months)
        cash = self.cash
        short = burn > 0 and cash < vc.lab_raise_runway_months * burn
        self.ask = max(vc.lab_round_runway_months * burn - cash, 0.0) if short else 0.0
        return self.ask

    def planned_spending(self) -> float:  # -- issue 11b: vcdeploy
        """$ per month: its training plan, staff, and serving for itself and its tiers."""
        serving = self.serving_cost + sum(t.serving_cost for t in self.tiers)
        return self.desired_budget + self.staff_cost + serving

    def planned_net_burn(self, months: float | None = None) -> float:  # -- 11b: vcdeploy
        """$ per month its plan spends beyond its expected operating profit, for the
        month it plans (``months``; next month by default)."""
        if months is None:
            months = self.model.month + 1
        return self.desired_budget - self.expected_operating_profit(months)

    def budget_training(self, months: float, credit: float) -> None:
        """The budget it can finance: its plan, at most what cash and ``credit`` ($ it
        could still borrow) pay for over a training window on top of its expected
        operating profit, after it has repaid credit-line debt out of cash."""
        self.repaid(repay_debt(self.model.ledger, self, self.debt, reserve=0.0, share=1.0))
        afford = (max(self.cash, 0.0) + credit) / self.cfg.training_window_months
        afford += self.expected_operating_profit(months)
        self.training_budget = min(self.desired_budget, max(afford, 0.0))

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

    A frontier lab's quality is explained by its past ``training_window_months`` of
    training, of which ``final_run_share`` made the released model; its budget is
    set once users exist (:func:`expect_initial_market`), by the same rule as every
    later month. Open-weight hosts serve a model
    ``open_weight_gap`` behind the best frontier model. Their cash is what they raised
    before 2023, paid in by limited partners."""
    cfg = model.cfg
    mc = cfg.model_developers
    labs = []
    for i in range(mc.frontier_count):
        spread = mc.quality_spread * i / max(mc.frontier_count - 1, 1) if i else 0.0
        q = mc.initial_quality - spread
        cash = mc.initial_cash_frontier * float(rng.lognormal(0.0, 0.3))
        lab = ModelDeveloper(
            model, mc, FRONTIER, q, mc.initial_price_frontier, mc.final_run_share, 0.0
        )
        labs.append(lab)
        lab.open_account("limited_partners", cash)
    best = max((lab.quality for lab in labs), default=mc.initial_quality)
    for _ in range(mc.open_weight_hosts):
        q = best - mc.open_weight_gap
        lab = ModelDeveloper(model, mc, OPEN_WEIGHT, q, mc.initial_price_open, 1.0, 0.0)
        labs.append(lab)
        lab.open_account("limited_partners", mc.initial_cash_open)
    labs += found_tiers(model, [lab for lab in labs if lab.is_frontier])
    for lab in labs:
        for h in model.hyperscalers:
            model.supply.connect(h.unique_id, lab.unique_id)
    return labs


def expected_revenue(model) -> np.ndarray:
    """$ per month each lab expects to sell at today's prices, direct and through its
    resellers: every adopted user at the logit choice shares, reading each segment's
    demand from its market-research panel (what labs see before the first month)."""
    market, labs = model.observe_market(), model.labs
    revenue = np.zeros(len(labs))
    if not market.n_cols:
        return revenue
    lab_price = np.array([lab.price for lab in labs])[market.source]
    log_x = np.log(market.price / market.quality_factor)
    for k, seg in enumerate(model.segments):
        # each column's demand at its own price and its model's quality factor
        demand = np.diagonal(seg.demand_curve(log_x, market.quality_factor))
        sales = market.choice[k] * demand
        revenue += np.bincount(market.source, weights=sales * lab_price, minlength=len(labs))
    return revenue


def expect_initial_market(model) -> None:
    """Labs' beliefs before the first month -- the market's revenue and their shares,
    read from users' demand -- and the training runs (and their budgets) those beliefs
    make worth it, so that month 1 follows the same rule as every later month."""
    revenue = expected_revenue(model)
    total = float(revenue.sum())
    group = {lab.unique_id: r for lab, r in zip(model.labs, revenue.tolist(), strict=True)}
    for lab in model.labs:
        r = group[lab.unique_id] + sum(group[t.unique_id] for t in lab.tiers)
        lab.expected_market, lab.last_market_revenue = total, total
        lab.expected_share = r / total if total > 0 else 0.0
        lab.investor_growth = model.cfg.vc.normal_return
    observe_rivals(model.labs)
    for lab in model.labs:
        if not lab.is_frontier:
            continue
        lab.plan_training(0.0)
        lab.budget_training(0.0, lab.credit_headroom())
        lab.training_spend.extend([lab.training_budget] * lab.training_spend.maxlen)


# -- issue 11: serving
class DistilledTier(ModelDeveloper):
    """A cheaper model a frontier lab serves beside its frontier model: tier ``rank``
    is distilled from its parent's model ``rank`` x ``distilled_gap`` below it in
    quality, with ``distilled_param_fraction ** rank`` of its active parameters, and
    keeps that size and quality until its parent releases a new model (its quality up
    ``release_quality_gain`` since the last distillation), when it is distilled anew.
    The lowest ``fixed_size_tiers`` tiers keep their first size for good: at each
    release they follow the teacher only as far as a model of that size can hold
    (:func:`abm.market.serving.quality_at_size`).

    It sells its own column of the retail market at its own profit-seeking price and
    rents compute from the clouds like any lab, but does not train, pay staff or
    raise: each month it follows its parent's latest model and sweeps its profit to
    the parent (or has its loss covered by it) through the ledger."""

    def __init__(self, model, parent: ModelDeveloper, rank: int) -> None:
        sc = model.cfg.serving
        self.parent = parent
        self.rank = rank  # 1 = the tier just below the frontier model
        # -- issue 11b: expect. Distilled from the parent's model of this quality; its
        # size is taken from the parent's the next time it is asked (then fixed)
        self.distilled_from = parent.quality
        self.distil_due = True
        super().__init__(
            model,
            parent.cfg,
            DISTILLED,
            parent.quality - rank * sc.distilled_gap,
            parent.price * sc.distilled_param_fraction**rank,  # at its parent's markup
            1.0,
            0.0,
        )
        self.name = f"tier{rank}-{parent.name}"
        parent.tiers.append(self)
        self.profit_swept = 0.0  # $ paid to (+) or received from (-) its parent this month
        # the lowest ``fixed_size_tiers`` tiers keep their first size for good
        self.fixed_size = rank > sc.distilled_tiers - sc.fixed_size_tiers

    @property
    def capability_class(self) -> int:
        return self.rank

    def start_step(self) -> None:
        super().start_step()
        self.profit_swept = 0.0

    def active_params(self, months: float) -> float:
        """A fraction of its parent's model when it was distilled, fixed until the next."""
        if self.distil_due:
            fraction = self.model.cfg.serving.distilled_param_fraction**self.rank
            self.active = self.parent.active_params(months) * fraction
            self.distil_due = False
        return self.active

    def follow_parent(self) -> None:
        """When its parent releases a new model (quality up ``release_quality_gain``
        since this tier was distilled), it is distilled anew from it: ``rank`` gaps
        below it, never worse, and resized. Between releases it does not change."""
        sc = self.model.cfg.serving
        if self.parent.quality < self.distilled_from + sc.release_quality_gain:
            return
        best = self.parent.quality - self.rank * sc.distilled_gap
        if self.fixed_size:
            # the same size, distilled from the better teacher, up to what a model of
            # its size can hold with this release's algorithms
            algo = self.cfg.training_algo_gain_per_year ** (self.model.month / 12.0)
            best = min(best, float(serving.quality_at_size(self.active, algo, sc)))
        else:
            self.distil_due = True
        self.quality = max(self.quality, best)
        self.distilled_from = self.parent.quality

    def sweep_to_parent(self) -> None:
        """Month end: repay any credit drawn for compute, the parent covering a loss
        (an obligation of the group), then pay the rest of its cash, its profit, to
        the parent. It starts every month with no cash and no debt."""
        ledger = self.model.ledger
        self.repaid(repay_debt(ledger, self, self.debt, reserve=0.0, share=1.0))
        if self.debt > 0:
            loss = self.debt
            pay(ledger, self.parent, self.unique_id, loss, "tier_loss")
            self.repaid(repay_debt(ledger, self, self.debt, reserve=0.0, share=1.0))
            self.profit_swept = -loss
        profit = max(self.cash, 0.0)
        ledger.transfer(self.unique_id, self.parent.unique_id, profit, "tier_profit")
        self.profit_swept += profit

    # the labs' month end (train_and_fund) calls these on every lab
    def follow_open_frontier(self, frontier_quality: float) -> None:
        self.follow_parent()

    def pay_staff(self) -> None:
        self.sweep_to_parent()  # no staff of its own: its month end is the sweep

    def ask_for_round(self, months: float) -> float:
        self.ask = 0.0  # its parent raises for the group
        return 0.0

    def pay_out(self) -> float:
        return 0.0  # it holds no cash: its month end swept it to its parent


def found_tiers(model, frontier: list[ModelDeveloper]) -> list[DistilledTier]:
    """The distilled tiers of every frontier lab (``serving.distilled_tiers`` each),
    with empty accounts: a tier's cash is its parent's."""
    tiers = [
        DistilledTier(model, lab, rank)
        for lab in frontier
        for rank in range(1, model.cfg.serving.distilled_tiers + 1)
    ]
    for tier in tiers:
        tier.open_account("households", 0.0)
    return tiers


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
    # one curve per distinct quality factor (a reseller reads its lab's), the same for
    # every segment
    distinct, curve_of = _distinct(market.quality_factor)
    curves = np.stack([seg.demand_curve(log_x_grid, distinct) for seg in model.segments])
    # who moves which column: each seller its own, and a lab its resellers' too
    supplier = market.source[n_labs:]  # each reseller's lab, by index (as observed)
    membership = OwnAndSupplier([-1] * n_labs + supplier.tolist())
    quantity = expected_sales(
        market.choice, curves, log_x_grid, col_x, membership, ratios, uc.price_sensitivity,
        curve_of, market.nest, uc.nest_dissimilarity,
    )  # fmt: skip
    shares = cloud_shares(
        np.array([h.price for h in model.hyperscalers]),
        model.cfg.hyperscalers.buyer_price_sensitivity,
    )
    posted = float(shares @ np.array([h.price for h in model.hyperscalers]))
    lab_cost = np.array(
        [lab.serving_cost_per_mtok(lab.compute_unit_cost or posted, model.month) for lab in labs]
    )
    supplier_price = np.array([lab.price for lab in labs])[supplier]
    cost = np.concatenate((lab_cost, supplier_price))  # (np.r_ costs more)
    new = best_response(
        market.price,
        cost,
        ratios,
        quantity,
        np.concatenate(
            (
                np.full(n_labs, model.cfg.model_developers.price_adjustment),
                np.full(len(startups), model.cfg.startups.markup_adjustment),
            )
        ),
        floor=np.concatenate((np.full(n_labs, 1e-6), supplier_price)),
    )
    for lab, p, c in zip(labs, new[:n_labs].tolist(), lab_cost.tolist(), strict=True):
        lab.post_price(p, c)
    if startups:
        supplier_new = np.array([lab.price for lab in labs])[supplier]
        set_markups(startups, new[n_labs:], supplier_price, supplier_new)


def train_and_plan(model) -> list[ModelDeveloper]:
    """The labs' month end, up to asking investors: training runs add to quality,
    open-weight hosts follow the frontier, every distilled tier sweeps its month to its
    parent and then every lab pays staff; then, with the month's money where it belongs,
    every lab updates its beliefs (of the market and of its rivals' programmes, all as
    they stood before anyone plans), plans its next training budget and, if that leaves
    it short, asks for a round (``lab.ask``). No lab's plan depends on where it stands
    in ``model.labs``. Returns the labs; :func:`budget_training` follows the rounds."""
    labs = model.labs
    mc = model.cfg.model_developers
    algo = mc.training_algo_gain_per_year ** (model.month / 12.0)
    for lab in labs:
        lab.train(algo)
    best_frontier = max((lab.quality for lab in labs if lab.is_frontier), default=None)
    market_revenue = sum(lab.revenue for lab in labs)
    observe_rivals(labs)
    for lab in labs:
        if best_frontier is not None:
            lab.follow_open_frontier(best_frontier)
    # every tier sweeps its month to its parent before any lab pays staff: staff are
    # paid out of the group's cash, wherever the tiers stand in the list
    for lab in labs:
        if lab.kind == DISTILLED:
            lab.pay_staff()  # a tier's month end: the sweep
    for lab in labs:
        if lab.kind != DISTILLED:
            lab.pay_staff()
    for lab in labs:
        lab.observe_market(market_revenue)
        lab.observe_compute_price(model.month)
        lab.plan_training(model.month + 1)
        lab.ask_for_round(model.month + 1)
    return labs


def observe_rivals(labs: list[ModelDeveloper]) -> None:
    """Show each frontier lab its frontier rivals as they stand now: their quality,
    run share and programme (:attr:`ModelDeveloper.programme`)."""
    frontier = [lab for lab in labs if lab.is_frontier]
    seen = [(lab.quality, lab.run_share, lab.programme) for lab in frontier]
    for i, lab in enumerate(frontier):
        lab.observe_rivals(seen[:i] + seen[i + 1 :])


def budget_training(model) -> None:
    """After the rounds: each lab sets the training budget it can finance."""
    for lab in model.labs:
        lab.budget_training(model.month + 1, lab.credit_headroom())
