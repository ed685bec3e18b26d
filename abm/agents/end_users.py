"""End users: a segment agent holding a population of individual users as arrays."""

from __future__ import annotations

import mesa
import numpy as np
from scipy import stats

from abm.config import EndUserConfig, SegmentConfig
from abm.market.demand import (
    MTOK,
    aggregate_curve,
    bass_hazard,
    capability_shift,
    decay_terms,
    saturating_growth,
    share_of_income_for_ai,
)

NO_PROVIDER = -1


def stratified_uniform(rng: np.random.Generator, n: int) -> np.ndarray:
    """n uniform draws, one in each interval [i/n, (i+1)/n), in random order.

    Each draw is uniform on [0, 1) for its user, but together they cover the unit
    interval evenly: the share of users who adopt, or who pick a provider, is
    within 1/n of its probability, not within sqrt(p(1-p)/n)."""
    order = rng.permutation(n)
    u = rng.random(n)
    u += order  # in place: the same sums and quotients, no temporaries
    u /= n
    return u


def _distinct(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(x, return_inverse=True)`` of a float array without NaNs (the same
    arrays, without np.unique's overhead, which costs more than the sort itself here)."""
    flat = x.reshape(-1)
    if flat.size == 0:
        return np.unique(flat, return_inverse=True)
    s = np.sort(flat)
    keep = np.empty(s.size, dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    distinct = s[keep]
    return distinct, distinct.searchsorted(flat)


def column_of(col_of: np.ndarray, provider: np.ndarray) -> np.ndarray:
    """Each user's column in today's market, -1 if none or their provider has gone."""
    # one gather from col_of padded with -1 at both ends: ids below 0 or past its end
    # are clipped onto the padding
    padded = np.concatenate(([-1], col_of, [-1]))
    return np.take(padded, provider + 1, mode="clip")


class EndUserSegment(mesa.Agent):
    """Programmers, analysts, product managers or enterprises.

    Every simulated user is an individual with their own reference value per task
    ($), tasks per month, tokens per task, adoption state and provider (the
    ``unique_id`` of a model developer, for the direct channel, or of a startup).
    Each stands for ``weight`` real users, so aggregates are in real-world units
    whatever the simulated population. The demand shifts (tokens per task, tasks
    unlocked by capability, the demand shock) are segment-wide scalars that multiply
    every user's demand at any price (:mod:`abm.market.demand`).
    """

    layer = "segment"

    def __init__(
        self,
        model,
        cfg: SegmentConfig,
        users: EndUserConfig,
        n_users: int,
        start_quality: float = 0.0,
    ) -> None:
        super().__init__(model)
        rng = model.stream("users")
        self.name = cfg.name
        self.cfg = cfg
        self.users_cfg = users
        self.n = n_users
        self.weight = cfg.population / n_users
        self.elasticity = users.price_elasticity * cfg.elasticity_scale
        self.value_range = users.value_range
        self.floor_ratio = users.value_floor_ratio
        self.start_quality = start_quality  # the frontier users saw in the first month
        # users' traits as a Latin hypercube sample: each is still an independent random
        # individual, but the population covers every stratum of every distribution,
        # so aggregates carry far less sampling noise at a given simulated size
        u = stats.qmc.LatinHypercube(d=4, rng=rng).random(n_users)
        z = stats.norm.ppf(u[:, :3])
        self.value = cfg.value_per_task_median * np.exp(cfg.value_sigma * z[:, 0])
        self.tasks = cfg.tasks_per_month * np.exp(cfg.tasks_sigma * z[:, 1])
        self.base_tokens_per_task = cfg.tokens_per_task * np.exp(cfg.tokens_sigma * z[:, 2])
        # per-user constants of the demand law (see abm.market.demand.token_demand): the
        # shifts scale tokens and task values together, so neither moves a user's cost ratio
        self._full_demand = self.tasks * self.base_tokens_per_task / MTOK  # mtok, tasks >= value
        self._log_cost_ratio = np.log(self.base_tokens_per_task / MTOK / self.value)
        self.tokens_per_task_multiplier = 1.0  # larger tasks: reasoning and agents
        self.task_multiplier = 1.0  # more tasks: uses unlocked by better models
        self.adopted = u[:, 3] < cfg.initial_adoption
        self.provider = np.full(n_users, NO_PROVIDER, dtype=np.int64)
        self.demand = np.zeros(n_users)  # mtok wanted this step
        self.bought = np.zeros(n_users)  # mtok received this step
        self._col = np.full(
            n_users, -1, dtype=np.int64
        )  # each user's column in this month's market
        self.new_adopters = 0
        self.elasticity_sum = 0.0  # sum over buying users of their own-price elasticity
        self.buyers = 0  # simulated users who bought this month
        self.satiated = 0  # of whom doing every task they have (below the value floor)
        self.budget_bound = 0  # of whom spending their whole AI budget
        # a user's budget is income * share for AI; income is spread across users as the
        # reference value of their tasks (tasks * value), the median user earning the median
        self._income_per_task_value = cfg.income_per_month / (
            cfg.tasks_per_month * cfg.value_per_task_median
        )
        self.demand_shock = 1.0  # segment-wide multiplier of tasks per month (mean 1)
        self._log_shock = 0.0
        # market research panel: a fixed sample that providers use to read this segment's demand
        k = min(n_users, model.cfg.model_developers.demand_sample_users)
        self.panel = (
            rng.choice(n_users, size=k, replace=False) if k < n_users else np.arange(n_users)
        )
        # the panel in ascending log cost ratio, the order in which aggregate_curve sums
        # it: that function still sorts, but an already sorted panel sorts several times faster
        self._panel_by_cost = self.panel[
            np.argsort(self._log_cost_ratio[self.panel], kind="stable")
        ]
        # the panel's traits in that order (they never change): a month's curve takes
        # its adopters' by a mask rather than gathering every array through the panel
        by_cost = self._panel_by_cost
        self._panel_tasks = self.tasks[by_cost]
        self._panel_tokens = self.base_tokens_per_task[by_cost]
        self._panel_value = self.value[by_cost]
        self._panel_log_cost = self._log_cost_ratio[by_cost]
        # the curve's decay terms for the whole panel (abm.market.demand.decay_terms), at
        # the least log cost ratio of its adopters: they move only when that one changes
        self._decay_shift: float | None = None
        self._panel_decay: tuple = ()

    # ---------------------------------------------------------------- step 2: demand
    def choose_and_order(
        self, market, row: int, tokens_per_task_multiplier: float, frontier_quality: float | None
    ) -> np.ndarray:
        """The segment's month: adoption, the demand shifts, a demand shock, provider
        choice (``market.choice[row]`` is this segment's), then each user's order.
        Returns the mtok ordered from each column of the retail market."""
        uc = self.users_cfg
        if uc.bass:
            self.adopt(self.cfg.bass_p, self.cfg.bass_q)
        self.grow_tokens_per_task(tokens_per_task_multiplier)
        if frontier_quality is not None:
            self.unlock_tasks(frontier_quality)
        if uc.demand_noise_sigma > 0:
            self.draw_demand_shock(uc.demand_noise_sigma, uc.demand_noise_persistence)
        self.choose_providers(market.col_ids, market.choice[row], market.col_of, uc.switching_rate)
        if not market.n_cols:
            return np.zeros(0)
        return self.order_tokens(market.price, market.quality_factor)

    def adopt(self, bass_p: float, bass_q: float) -> None:
        """Bass diffusion: innovators (p) and imitators (q times the adopted share)."""
        share = np.count_nonzero(self.adopted) / self.n  # (count_nonzero: a bool sum, faster)
        hazard = bass_hazard(bass_p, bass_q, share, 1.0 / 12.0)
        newly = ~self.adopted & (stratified_uniform(self.model.stream("users"), self.n) < hazard)
        self.adopted |= newly
        self.new_adopters = np.count_nonzero(newly)

    def draw_demand_shock(self, sigma: float, persistence: float) -> None:
        """A stationary AR(1) shock to the segment's tasks per month: log-sd ``sigma``,
        autocorrelation ``persistence``, mean multiplier 1 (noisy end demand)."""
        innovation = (
            sigma * np.sqrt(1.0 - persistence**2) * self.model.stream("shocks").standard_normal()
        )
        self._log_shock = persistence * self._log_shock + innovation
        self.demand_shock = float(np.exp(self._log_shock - 0.5 * sigma**2))

    def grow_tokens_per_task(self, multiplier: float) -> None:
        """Reasoning and agents make tasks larger: ``multiplier`` times the tokens, and
        a larger task is worth as many times more, so the same tasks are done with more
        tokens (a demand shift, not a price move)."""
        self.tokens_per_task_multiplier = float(multiplier)

    def unlock_tasks(self, frontier_quality: float) -> None:
        """Better models unlock new uses: tasks per user grow with the best quality on
        offer (:func:`abm.market.demand.capability_shift`); unlocked uses stay unlocked."""
        unlocked = float(
            capability_shift(frontier_quality, self.start_quality, self.users_cfg.tasks_per_quality)
        )
        self.task_multiplier = max(self.task_multiplier, unlocked)

    @property
    def shift(self) -> float:
        """This month's demand shift: every user's demand at any price times this."""
        return self.tokens_per_task_multiplier * self.task_multiplier * self.demand_shock

    @property
    def ai_share(self) -> float:
        """The most of their income users spend on AI this month: its odds grow with the
        tasks better models unlock (:func:`abm.market.demand.share_of_income_for_ai`)."""
        return share_of_income_for_ai(self.users_cfg.ai_budget_share_start, self.task_multiplier)

    @property
    def budget_per_value(self) -> float:
        """Each user's monthly AI budget over the reference value of their tasks
        (``tasks * value``): the same ratio for every user of the segment."""
        return self._income_per_task_value * self.ai_share

    def budgets(self) -> np.ndarray:
        """Each user's AI budget this month ($): a share of their income, never above it."""
        return self.budget_per_value * self.tasks * self.value

    @property
    def tokens_per_task(self) -> np.ndarray:
        """Each user's tokens per task this month."""
        return self.base_tokens_per_task * self.tokens_per_task_multiplier

    def choose_providers(
        self,
        col_ids: np.ndarray,
        choice_prob: np.ndarray,
        col_of: np.ndarray,
        switching_rate: float,
    ) -> None:
        """New adopters, users whose provider left, and a random share of the rest re-choose."""
        rng = self.model.stream("users")
        col = column_of(col_of, self.provider)
        # adopted users who must (no provider today) or may (a random share) re-choose
        choosers = (self.adopted & ((col < 0) | (rng.random(self.n) < switching_rate))).nonzero()[0]
        if choosers.size and col_ids.size:
            picks = np.minimum(
                choice_prob.cumsum().searchsorted(stratified_uniform(rng, choosers.size)),
                col_ids.size - 1,
            )
            self.provider[choosers] = col_ids[picks]
            col[choosers] = picks
        elif not col_ids.size:
            self.provider[:] = NO_PROVIDER
            col[:] = -1
        self._col = np.where(self.adopted, col, -1)

    def order_tokens(self, col_price: np.ndarray, col_quality_factor: np.ndarray) -> np.ndarray:
        """Each adopted user's tokens wanted at their provider's posted price; totals per column.

        The law of :func:`abm.market.demand.token_demand`, in logs, capped by what the
        user's budget buys (budget / price): one ``exp`` per user."""
        col = self._col
        active = col >= 0
        safe = np.where(active, col, 0)
        if col_price.size == 0:
            self.demand = np.zeros(self.n)
            self.elasticity_sum, self.buyers, self.satiated, self.budget_bound = 0.0, 0, 0, 0
            return np.zeros(0)
        price = col_price[safe]
        # log(cost / value): the price term once per column, then each user's cost ratio
        z = np.log(col_price / col_quality_factor)[safe] + self._log_cost_ratio
        e, tail = self.elasticity, self.value_range ** (-self.elasticity)
        pareto = np.exp(-e * np.maximum(z, -np.log(self.floor_ratio)))  # satiated below the floor
        share = np.maximum(pareto - tail, 0.0) / (1.0 - tail)
        wanted = self._full_demand * self.shift * share
        affordable = np.divide(self.budgets(), price, out=price)  # mtok the budget buys
        bound = wanted >= affordable
        self.demand = np.where(active, np.minimum(wanted, affordable), 0.0)
        self.record_elasticity(active & (share > 0), bound, pareto, tail, z)
        return np.bincount(safe, weights=self.demand * self.weight, minlength=col_price.size)

    def record_elasticity(self, buying: np.ndarray, bound: np.ndarray, pareto, tail, z) -> None:
        """Each buying user's own-price elasticity of token demand, summed: 1 where the
        budget binds (they spend it all whatever the price), else 0 when satiated and
        ``e pareto / (pareto - tail)`` on the Pareto tail
        (:func:`abm.market.demand.demand_elasticity`, from this month's terms)."""
        on_budget = buying & bound
        on_tail = buying & ~bound & (z > -np.log(self.floor_ratio))
        on_tail_pareto = pareto[on_tail]
        eps = self.elasticity * on_tail_pareto / (on_tail_pareto - tail)
        self.budget_bound = np.count_nonzero(on_budget)
        self.elasticity_sum = float(eps.sum()) + float(self.budget_bound)
        self.buyers = np.count_nonzero(buying)
        self.satiated = self.buyers - on_tail_pareto.size - self.budget_bound

    def demand_curve(self, log_x_grid: np.ndarray, quality_factor) -> np.ndarray:
        """Market research: the segment's total demand (mtok/month) on a grid of log
        quality-adjusted prices, read from the panel of adopted users. Budgets are in
        dollars, so where they bind demand depends on the model's quality factor too:
        one curve per entry of ``quality_factor`` (rows of the result if an array)."""
        adopted = self.adopted[self._panel_by_cost]  # the panel's adopters, by cost
        n = np.count_nonzero(adopted)
        qf = np.asarray(quality_factor, dtype=float)
        if n == 0:
            return np.zeros((*qf.shape, len(log_x_grid)))
        scale = np.count_nonzero(self.adopted) / n * self.weight * self.shift
        # where the budget binds a user buys budget / (qf * x): per unit of task value
        # and of the shift that scales the rest of their demand; one curve per distinct
        # quality factor (resellers share their lab's)
        distinct, which = _distinct(qf)
        budget = self.budget_per_value / (self.shift * distinct)
        c = self._panel_log_cost[adopted]
        if self._decay_shift != c[0]:  # a user cheaper than all adopters adopted (rare)
            self._decay_shift = c[0]
            self._panel_decay = decay_terms(self._panel_log_cost, self.elasticity, c[0])
        curves = aggregate_curve(
            log_x_grid,
            self._panel_tasks[adopted],
            self._panel_tokens[adopted],
            self._panel_value[adopted],
            self.elasticity,
            self.value_range,
            scale,
            self.floor_ratio,
            budget,
            log_cost_ratio=c,
            decay=tuple(d[adopted] for d in self._panel_decay),
        )
        return curves[which.reshape(qf.shape)]

    # ---------------------------------------------------------------- step 3: delivery
    def receive(self, fill_by_col: np.ndarray) -> None:
        """Users get what their provider could deliver (pro rata when it was short)."""
        col = self._col
        fill = fill_by_col[np.maximum(col, 0)] if fill_by_col.size else np.zeros(self.n)
        self.bought = np.where(col >= 0, self.demand * fill, 0.0)

    # ---------------------------------------------------------------- reporting
    @property
    def adopted_share(self) -> float:
        return np.count_nonzero(self.adopted) / self.n

    @property
    def population_adopted(self) -> float:
        return float(np.count_nonzero(self.adopted) * self.weight)

    def tokens_bought(self) -> float:
        return float(self.bought.sum() * self.weight)

    def firm_row(self) -> dict:
        """Its row of the per-step panel (a segment of users, not a firm: no cash or debt)."""
        return {
            "id": self.unique_id,
            "layer": self.layer,
            "name": self.name,
            "adopted_share": self.adopted_share,
            "tokens_sold": self.tokens_bought(),
        }


def found_segments(model) -> list[EndUserSegment]:
    """One segment agent per configured segment, the simulated users split among them
    by ``simulated_share``; every lab can sell to every segment."""
    uc, graph = model.cfg.end_users, model.supply
    weights = np.array([s.simulated_share for s in uc.segments])
    counts = np.maximum(np.floor(uc.simulated_users * weights / weights.sum()).astype(int), 1)
    segments = []
    start_quality = max((lab.quality for lab in model.labs), default=0.0)
    for s, n in zip(uc.segments, counts, strict=True):
        seg = EndUserSegment(model, s, uc, int(n), start_quality)
        segments.append(seg)
        graph.add_node(seg.unique_id, seg.layer, seg.name)
        for lab in model.labs:
            graph.connect(lab.unique_id, seg.unique_id)
    return segments


def choose_and_order(segments: list[EndUserSegment], market, uc: EndUserConfig, month: int):
    """Every segment's orders this month: mtok by [segment, column of ``market``].

    Tokens per task grow along the configured saturating path, and tasks with the
    best quality on offer (demand shifts that are the same for every user)."""
    tpt = saturating_growth(
        month, uc.tokens_per_task_growth_per_year, uc.tokens_per_task_max_multiplier
    )
    frontier = float(market.quality.max()) if market.n_cols else None
    orders = np.zeros((len(segments), market.n_cols))
    for k, seg in enumerate(segments):
        row = seg.choose_and_order(market, k, tpt, frontier)
        if market.n_cols:
            orders[k] = row
    return orders


__all__ = ["EndUserSegment", "MTOK", "NO_PROVIDER", "choose_and_order", "found_segments"]
