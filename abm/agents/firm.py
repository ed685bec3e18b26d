"""What every firm has: a name, an account in the model's ledger, a debt, a panel row."""

from __future__ import annotations

from typing import Any

import mesa


class Firm(mesa.Agent):
    """A firm of one layer of the chain.

    Its cash is its account in ``model.ledger`` (keyed by ``unique_id``); its debt is
    what it owes the lenders, drawn on its credit line by obligations it could not
    pay from cash (see :mod:`abm.market.settlement`)."""

    layer = "firm"

    def __init__(self, model, name: str | None = None) -> None:
        super().__init__(model)
        self.name = name if name is not None else f"{self.layer}-{self.unique_id}"
        self.debt = 0.0  # $ owed to lenders

    @property
    def cash(self) -> float:
        """$ in its ledger account."""
        return self.model.ledger.balance(self.unique_id)

    def open_account(self, source: str, amount: float, kind: str = "initial_capital") -> None:
        """Open its ledger account and its node on the supply graph, with starting cash."""
        self.model.supply.add_node(self.unique_id, self.layer, self.name)
        self.model.ledger.open(self.unique_id)
        self.model.ledger.transfer(source, self.unique_id, amount, kind)

    def borrow(self, amount: float) -> None:
        """The credit line paid ``amount`` into its account (see settlement.pay)."""
        self.debt += amount

    def repaid(self, amount: float) -> None:
        self.debt -= amount

    def firm_row(self) -> dict[str, Any]:
        """Its row of the per-step firm panel (subclasses add their own state)."""
        return {
            "id": self.unique_id,
            "layer": self.layer,
            "name": self.name,
            "cash": self.cash,
            "debt": self.debt,
        }
