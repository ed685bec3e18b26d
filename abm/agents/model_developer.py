"""Model developers: frontier labs that train, and open-weight hosts that serve others' models."""

from __future__ import annotations

from collections import deque

import mesa
import numpy as np

from abm.config import ModelDeveloperConfig

FRONTIER, OPEN_WEIGHT = "frontier", "open_weight"


def training_gpu_hours(budget, price, trend_price, cash, elasticity):
    """GPU-hours of training a lab rents at ``price``: its budget at the trend price,
    scaled by ``(trend_price / price) ** elasticity``, and never more than its cash buys.
    Works on arrays (the clouds read their demand curve from it)."""
    price = np.asarray(price, dtype=float)
    wanted = np.asarray(budget, dtype=float) / trend_price * (trend_price / price) ** elasticity
    return np.minimum(wanted, np.maximum(cash, 0.0) / price)


class ModelDeveloper(mesa.Agent):
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
    ) -> None:
        super().__init__(model)
        self.cfg = cfg
        self.kind = kind
        self.name = f"{'lab' if kind == FRONTIER else 'open'}-{self.unique_id}"
        self.quality = quality
        self.initial_quality = quality
        self.price = price
        self.run_share = run_share  # share of the training window's compute in the released model
        # past training compute consistent with today's quality
        per_month = 10.0**quality / run_share / cfg.training_window_months
        self.training_window: deque[float] = deque(
            [per_month] * cfg.training_window_months, maxlen=cfg.training_window_months
        )
        self.debt = 0.0
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
        self.training_window.append(self.training_gpu_hours * algo_multiplier)
        effective = sum(self.training_window) * self.run_share
        if effective > 0:
            self.quality = max(self.quality, float(np.log10(effective)))

    def follow_open_frontier(self, frontier_quality: float) -> None:
        """Open-weight models trail the best frontier model by ``open_weight_gap``."""
        if not self.is_frontier:
            self.quality = max(self.quality, frontier_quality - self.cfg.open_weight_gap)
