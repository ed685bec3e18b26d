"""End users: a segment agent holding a population of individual users as arrays."""

from __future__ import annotations

import mesa
import numpy as np

from abm.config import EndUserConfig, SegmentConfig
from abm.market.demand import MTOK, aggregate_curve, bass_hazard, token_demand

NO_PROVIDER = -1


def column_of(col_of: np.ndarray, provider: np.ndarray) -> np.ndarray:
    """Each user's column in today's market, -1 if none or their provider has gone."""
    known = (provider >= 0) & (provider < col_of.size)
    return np.where(known, col_of[np.where(known, provider, 0)], -1)


class EndUserSegment(mesa.Agent):
    """Programmers, analysts, product managers or enterprises.

    Every simulated user is an individual with their own value per task ($),
    tasks per month, tokens per task, adoption state and provider (the
    ``unique_id`` of a model developer, for the direct channel, or of a startup).
    Each stands for ``weight`` real users, so aggregates are in real-world units
    whatever the simulated population.
    """

    layer = "segment"

    def __init__(self, model, cfg: SegmentConfig, users: EndUserConfig, n_users: int) -> None:
        super().__init__(model)
        rng = model.rng
        self.name = cfg.name
        self.cfg = cfg
        self.n = n_users
        self.weight = cfg.population / n_users
        self.elasticity = users.price_elasticity * cfg.elasticity_scale
        self.value_range = users.value_range
        self.value = cfg.value_per_task_median * rng.lognormal(0.0, cfg.value_sigma, n_users)
        self.tasks = cfg.tasks_per_month * rng.lognormal(0.0, cfg.tasks_sigma, n_users)
        self.base_tokens_per_task = cfg.tokens_per_task * rng.lognormal(0.0, cfg.tokens_sigma, n_users)
        self.tokens_per_task = self.base_tokens_per_task.copy()
        self.adopted = rng.random(n_users) < cfg.initial_adoption
        self.provider = np.full(n_users, NO_PROVIDER, dtype=np.int64)
        self.demand = np.zeros(n_users)  # mtok wanted this step
        self.bought = np.zeros(n_users)  # mtok received this step
        self.new_adopters = 0
        # market research panel: a fixed sample that providers use to read this segment's demand
        k = min(n_users, model.cfg.model_developers.demand_sample_users)
        self.panel = rng.choice(n_users, size=k, replace=False) if k < n_users else np.arange(n_users)

    # ---------------------------------------------------------------- step 2: demand
    def adopt(self, bass_p: float, bass_q: float) -> None:
        """Bass diffusion: innovators (p) and imitators (q times the adopted share)."""
        share = self.adopted.mean()
        hazard = bass_hazard(bass_p, bass_q, share, 1.0 / 12.0)
        newly = ~self.adopted & (self.model.rng.random(self.n) < hazard)
        self.adopted |= newly
        self.new_adopters = int(newly.sum())

    def grow_tokens_per_task(self, multiplier: float) -> None:
        """Reasoning and agents use more tokens per task over time (a demand shift)."""
        self.tokens_per_task = self.base_tokens_per_task * multiplier

    def choose_providers(self, col_ids: np.ndarray, choice_prob: np.ndarray, col_of: np.ndarray,
                         switching_rate: float) -> None:
        """New adopters, users whose provider left, and a random share of the rest re-choose."""
        rng = self.model.rng
        current_col = column_of(col_of, self.provider)
        must = self.adopted & (current_col < 0)
        may = self.adopted & ~must & (rng.random(self.n) < switching_rate)
        choosers = np.nonzero(must | may)[0]
        if choosers.size and col_ids.size:
            picks = rng.choice(col_ids.size, size=choosers.size, p=choice_prob)
            self.provider[choosers] = col_ids[picks]
        elif not col_ids.size:
            self.provider[:] = NO_PROVIDER

    def order_tokens(self, col_of: np.ndarray, col_price: np.ndarray, col_quality_factor: np.ndarray) -> np.ndarray:
        """Each adopted user's tokens wanted at their provider's posted price; totals per column."""
        col = column_of(col_of, self.provider)
        active = self.adopted & (col >= 0)
        safe = np.maximum(col, 0)
        q = token_demand(col_price[safe], col_quality_factor[safe], self.tasks, self.tokens_per_task,
                         self.value, self.elasticity, self.value_range)
        self.demand = np.where(active, q, 0.0)
        self._col = col
        return np.bincount(safe[active], weights=self.demand[active] * self.weight,
                           minlength=col_price.size)

    def demand_curve(self, log_x_grid: np.ndarray) -> np.ndarray:
        """Market research: the segment's total demand (mtok/month) on a grid of log
        quality-adjusted prices, read from the panel of adopted users."""
        idx = self.panel[self.adopted[self.panel]]
        if idx.size == 0:
            return np.zeros(len(log_x_grid))
        scale = self.adopted.sum() / idx.size * self.weight
        return aggregate_curve(log_x_grid, self.tasks[idx], self.tokens_per_task[idx], self.value[idx],
                               self.elasticity, self.value_range, np.full(idx.size, scale))

    # ---------------------------------------------------------------- step 3: delivery
    def receive(self, fill_by_col: np.ndarray) -> None:
        """Users get what their provider could deliver (pro rata when it was short)."""
        col = self._col
        fill = np.where(col >= 0, fill_by_col[np.maximum(col, 0)], 0.0)
        self.bought = self.demand * fill

    # ---------------------------------------------------------------- reporting
    @property
    def adopted_share(self) -> float:
        return float(self.adopted.mean())

    @property
    def population_adopted(self) -> float:
        return float(self.adopted.sum() * self.weight)

    def tokens_bought(self) -> float:
        return float(self.bought.sum() * self.weight)


__all__ = ["EndUserSegment", "MTOK", "NO_PROVIDER"]
