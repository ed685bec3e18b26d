"""Helpers for the agent tests: a small real market and exact cash balances."""

from __future__ import annotations

from abm import ComputeMarket


def small_market(**over) -> ComputeMarket:
    """A baseline market with 200 simulated users: agents wired to a ledger and a graph."""
    return ComputeMarket(rng=1, **{"end_users.simulated_users": 200, **over})


def set_cash(m: ComputeMarket, firm, amount: float) -> None:
    """Give ``firm`` exactly ``amount`` of cash, the difference paid by households."""
    diff = amount - firm.cash
    if diff > 0:
        m.ledger.transfer("households", firm.unique_id, diff, "test")
    elif diff < 0:
        m.ledger.transfer(firm.unique_id, "households", -diff, "test")
