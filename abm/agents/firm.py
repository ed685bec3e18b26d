"""What every firm has: a name, an account in the model's ledger, a debt, a panel row."""

from __future__ import annotations

from collections import deque
from typing import Any

import mesa

from abm.market import credit
from abm.market.settlement import pay
from abm.market.venture import LPS


def payout_reserve(vc, highest_burn, spending):
    """$ of cash a firm keeps (numbers or arrays, element by element):
    ``vc.payout_reserve_months`` of the highest net burn it planned (``highest_burn``,
    $ per month) plus ``vc.liquidity_months`` of its planned spending ($ per month)."""
    return vc.payout_reserve_months * highest_burn + vc.liquidity_months * spending


class Firm(mesa.Agent):
    """A firm of one layer of the chain.

    Its cash is its account in ``model.ledger`` (keyed by ``unique_id``); its debt is
    what it owes the lenders, drawn on its credit line by obligations it could not
    pay from cash (see :mod:`abm.market.settlement`). The line is limited by leverage,
    interest cover and, for a firm with a fleet, collateral (:mod:`abm.market.credit`);
    a draw beyond the limit is recorded in ``over_limit`` and settled at the month end,
    when the firm cures it or defaults."""

    layer = "firm"

    def __init__(self, model, name: str | None = None) -> None:
        super().__init__(model)
        self.name = name if name is not None else f"{self.layer}-{self.unique_id}"
        self.debt = 0.0  # $ owed to lenders
        # $ EBITDA of each of the last 12 months, as its cash flows showed it (Ledger.operating)
        self.ebitda_months: deque[float] = deque(maxlen=credit.EBITDA_MONTHS)
        self.over_limit = 0.0  # $ drawn this month beyond its credit limit: it could not pay
        self.defaulted = False  # it defaulted and its assets are gone; it leaves the market
        # -- issue 11b: vcdeploy
        # $ per month of net burn it planned in each recent month: its reserve covers the peak
        self.burn_plans: deque[float] = deque(maxlen=model.cfg.vc.reserve_memory_months)
        self.peak_burn = 0.0  # $ per month: the highest of them, or 0

    @property
    def cash(self) -> float:
        """$ in its ledger account."""
        return self.model.ledger.balance(self.unique_id)

    def open_account(self, source: str, amount: float, kind: str = "initial_capital") -> None:
        """Open its ledger account and its node on the supply graph, with starting cash."""
        self.model.supply.add_node(self.unique_id, self.layer, self.name)
        self.model.ledger.open(self.unique_id)
        self.model.ledger.transfer(source, self.unique_id, amount, kind)

    # ---------------------------------------------------------------- credit
    @property
    def trailing_ebitda(self) -> float:
        """$ a year: EBITDA over the last 12 months (annualised while it has fewer)."""
        months = self.ebitda_months
        return sum(months) * credit.EBITDA_MONTHS / len(months) if months else 0.0

    def collateral_value(self) -> float | None:
        """$ a lender may secure a loan on; ``None``: an asset-light firm, lent to on
        cash flow alone (a cloud overrides this with its fleet and buildings)."""
        return None

    def debt_capacity(self) -> float:
        """$ it may owe, the tightest of its credit limits (:func:`credit.debt_capacity`)."""
        return credit.debt_capacity(
            self.trailing_ebitda, self.collateral_value(), self.model.cfg.credit
        )

    def credit_headroom(self) -> float:
        """$ it can still borrow within its limits."""
        return max(self.debt_capacity() - self.debt, 0.0)

    def borrow(self, amount: float) -> None:
        """The credit line paid ``amount`` into its account (see settlement.pay). What the
        headroom did not cover is recorded as ``over_limit``: an obligation it could not pay."""
        self.over_limit += max(amount - self.credit_headroom(), 0.0)
        self.debt += amount

    def repaid(self, amount: float) -> None:
        self.debt -= amount

    def pay_interest(self) -> None:
        """The month's interest on its debt (an obligation)."""
        rate = self.model.cfg.credit.interest_rate_per_month
        pay(self.model.ledger, self, "lenders", self.debt * rate, "interest")

    def close_books(self, ebitda: float) -> None:
        """Book the month's EBITDA ($) into the trailing window lenders read."""
        self.ebitda_months.append(ebitda)

    # -- issue 11b: vcdeploy
    def planned_spending(self) -> float:
        """$ per month it plans to spend; a firm that neither raises venture rounds nor
        pays its owners out (a cloud, a vendor) plans nothing here."""
        return 0.0

    def planned_net_burn(self) -> float:
        """$ per month its plan spends beyond what it expects to earn (negative: it
        expects free cash flow)."""
        return 0.0

    def cash_reserve(self, net_burn: float | None = None) -> float:
        """$ of cash it keeps: ``vc.payout_reserve_months`` of runway on the highest net
        burn it has planned over the last ``vc.reserve_memory_months`` (this month's
        included: one month's better forecast does not release the cash raised for a
        plan) plus ``vc.liquidity_months`` of its planned spending (a precautionary
        buffer). It accepts rounds up to it and pays out what lies above (:meth:`pay_out`).
        ``net_burn``: this month's :meth:`planned_net_burn` if the caller has it already."""
        vc = self.model.cfg.vc
        if net_burn is None:
            net_burn = self.planned_net_burn()
        return payout_reserve(vc, max(net_burn, self.peak_burn), self.planned_spending())

    def remember_burn(self, net_burn: float) -> None:
        """Add this month's planned net burn ($ per month) to its memory of plans."""
        self.burn_plans.append(net_burn)
        self.peak_burn = max(max(self.burn_plans), 0.0)

    def pay_out(self) -> float:
        """Month end: free cash flow goes back to its owners (Jensen 1986): once it owes
        nothing, cash above its reserve is paid to the limited partners (kind
        ``payout``); the month's planned net burn joins its memory. Returns the $ paid."""
        net_burn = self.planned_net_burn()
        reserve = self.cash_reserve(net_burn)
        self.remember_burn(net_burn)
        if self.debt > 0:
            return 0.0
        excess = self.cash - reserve
        if excess <= 0:
            return 0.0
        return self.model.ledger.transfer(self.unique_id, LPS, excess, "payout")

    def rescue_round(self, shortfall: float) -> float:
        """Hook for investors: a firm about to default asks for ``shortfall`` $; an
        override pays a round into its account and returns the $ raised. By default no
        one answers."""
        return 0.0

    def firm_row(self) -> dict[str, Any]:
        """Its row of the per-step firm panel (subclasses add their own state)."""
        return {
            "id": self.unique_id,
            "layer": self.layer,
            "name": self.name,
            "cash": self.cash,
            "debt": self.debt,
        }
