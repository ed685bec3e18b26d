"""API-wrapper startups: resell a lab's tokens inside an app, funded by venture capital."""

from __future__ import annotations

import mesa

from abm.config import StartupConfig


class WrapperStartup(mesa.Agent):
    """Buys tokens from one supplier lab and sells them to end users at a retail
    price over its token cost. Its app adds value (``app_bonus``, in logit
    utility) for users who like apps. It burns cash on staff every month, raises
    rounds when its runway is short, and exits when it runs out and cannot."""

    layer = "startup"

    def __init__(
        self,
        model,
        cfg: StartupConfig,
        supplier: int,
        supplier_price: float,
        burn: float,
        app_bonus: float,
    ) -> None:
        super().__init__(model)
        self.cfg = cfg
        self.name = f"startup-{self.unique_id}"
        self.supplier = supplier
        self.markup = cfg.initial_markup
        self.price = supplier_price * (1.0 + self.markup)  # $ per mtok, retail
        self.base_burn = burn  # $ per month before growth spending
        self.burn = burn  # $ per month, this month
        self.app_bonus = app_bonus
        self.born = model.steps
        self.rounds = 0
        self.start_step()

    def start_step(self) -> None:
        self.token_orders = 0.0  # mtok its users want
        self.tokens_sold = 0.0
        self.revenue = 0.0
        self.token_cost = 0.0
        self.raised = 0.0

    def follow_supplier_price(self, supplier_price: float) -> None:
        """Retail price = supplier price x (1 + markup): a wholesale change passes through."""
        self.price = supplier_price * (1.0 + self.markup)
