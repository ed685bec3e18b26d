"""Helpers for the agent tests: a small real market."""

from __future__ import annotations

from abm import ComputeMarket


def small_market(**over) -> ComputeMarket:
    """A baseline market with 200 simulated users: agents wired to a ledger and a graph."""
    return ComputeMarket(rng=1, **{"end_users.simulated_users": 200, **over})
